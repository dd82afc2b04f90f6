/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardenctl's process commands: run, spawn, link, stream, signal (and shell, which is run with a terminal).
 * See wardenctl(1). Each logs its failures ("wardenctl: <message>") and returns a negative errno then.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "job-args.h"

/*
 * Runs 'argv' in the container 'handle' with wardenctl's own standard input, output and error (Spawn with
 * stdin/stdout/stderr), waits for its end (Link) and returns its exit status (0-255; 128+N for a job killed
 * by signal N). With o->tty: the job gets a terminal whose other end wshd relays to our standard input and
 * output, which must be a terminal; it is put into raw mode until the job ends, its size is sent along and
 * on every SIGWINCH, and $TERM is passed unless o->env sets it. The first SIGINT, SIGTERM or SIGHUP is
 * forwarded to the job; a second one ends the wait at once (128+N). The terminal is restored on every path.
 */
int job_run(sd_bus *bus, const char *handle, char **argv, const JobOptions *o);

/* Spawns 'argv' with its output captured by wardend (or discarded) and prints the job id. */
int job_spawn(sd_bus *bus, const char *handle, char **argv, const JobOptions *o, bool json);

/* Waits for the job's end and writes its captured output to our stdout and stderr (or all of it as JSON);
 * returns the exit status as job_run() does. */
int job_link(sd_bus *bus, const char *handle, uint32_t job_id, bool json);

/* Copies the job's output, from its start, to our stdout and stderr until the job has ended. */
int job_stream(sd_bus *bus, const char *handle, uint32_t job_id);

int job_signal(sd_bus *bus, const char *handle, uint32_t job_id, int sig);
