/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "bus-error.h"
#include "bus-manager.h"
#include "bus-pair.h"
#include "manager-fixture.h"
#include "tests.h"

void fixture_init(Fixture *f, bool vtables) {
        *f = (Fixture){};
        manager_config_init(&f->manager.config);
        f->manager.containers = hashmap_new();
        ASSERT_NOT_NULL(f->manager.containers);
        ASSERT_OK(bus_manager_attach(&f->manager));
        ASSERT_OK(bus_pair_new(&f->server, &f->client));
        if (vtables) {
                ASSERT_OK(bus_error_register_map());
                ASSERT_OK(bus_manager_register(&f->manager, f->server));
        }
}

void fixture_done(Fixture *f) {
        Container *c;

        HASHMAP_FOREACH(c, f->manager.containers)
                container_free(c);
        hashmap_free(f->manager.containers);
        f->manager.bus_done(&f->manager);
        manager_config_done(&f->manager.config);
        sd_bus_close_unref(f->client);
        sd_bus_close_unref(f->server);
}
