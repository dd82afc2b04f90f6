/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Chooses where log messages go: to the journal, as structured entries (MESSAGE=, PRIORITY=, ERRNO=,
 * WARDEN_CONTAINER=, CODE_*=, SYSLOG_IDENTIFIER=), when stderr is connected to it ($JOURNAL_STREAM, see
 * systemd.exec(5)); otherwise to stderr as "<identifier>: <message>".
 */

void log_setup(const char *identifier);
