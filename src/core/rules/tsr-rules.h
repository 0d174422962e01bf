/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "tsr-host.h"

G_BEGIN_DECLS

/* The rules a VM's settings obey whether it is being created, cloned or changed, so
 * that every path refuses the same values with the same error. */

/* The ceiling of memory where the host's RAM is unknown: 4 PiB, in MiB. */
#define TSR_RULES_MAX_MEMORY_MIB (G_GUINT64_CONSTANT (4) << 30)

/* The largest qcow2 image QEMU makes with its default 64 KiB clusters: 2 PiB. */
#define TSR_RULES_QCOW2_MAX_BYTES (G_GUINT64_CONSTANT (1) << 51)

gboolean    tsr_rules_check_disk_size        (guint64             bytes,
                                              const char         *format,
                                              const char         *pool,
                                              guint64             pool_capacity,
                                              GError            **error);
gboolean    tsr_rules_check_label            (const char         *label,
                                              GError            **error);
gboolean    tsr_rules_check_resources        (guint64             memory,
                                              guint64             maxmem,
                                              guint               vcpus,
                                              const char         *kernelopts,
                                              const TsrHostCaps  *caps,
                                              GError            **error);
gboolean    tsr_rules_check_kernel_installed (const char         *kernels_dir,
                                              const char         *kernel,
                                              GError            **error);
gboolean    tsr_rules_check_virt_mode        (const char         *virt_mode,
                                              const char         *kernel,
                                              const TsrHostCaps  *caps,
                                              gboolean            check_hvm,
                                              GError            **error);
gboolean    tsr_rules_check_firmware         (const char         *firmware,
                                              const TsrHostCaps  *caps,
                                              GError            **error);

G_END_DECLS
