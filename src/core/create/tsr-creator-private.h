/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-creator.h"
#include "tsr-host.h"

G_BEGIN_DECLS

/* Shared by tsr-creator.c (checks, disks, the worker) and
 * tsr-creator-domain.c (the definition).
 */
char *tsr_creator_build_domain_xml (const TsrCreateSpec  *spec,
                                    const char           *kernels_dir,
                                    GPtrArray            *extra_paths,
                                    TsrHostCaps          *caps,
                                    const char           *disk_path,
                                    const char           *disk_format,
                                    const char           *mac,
                                    GError              **error);

G_END_DECLS
