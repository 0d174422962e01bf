/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-creator.h"
#include "tsr-host.h"
#include "tsr-journal.h"
#include "tsr-osinfo.h"

G_BEGIN_DECLS

/* Shared by tsr-creator.c (checks, disks, the worker) and
 * tsr-creator-domain.c (the definition).
 */
char *tsr_creator_build_domain_xml (const TsrCreateSpec  *spec,
                                    const TsrOsDefaults  *os,
                                    const char           *nvram_dir,
                                    const char           *kernels_dir,
                                    GPtrArray            *extra_paths,
                                    TsrHostCaps          *caps,
                                    const char           *disk_path,
                                    const char           *disk_format,
                                    const char           *mac,
                                    GError              **error);

/* tsr-creator-features.c */
char *tsr_creator_add_os_features (const char          *xml,
                                   const TsrCreateSpec *spec,
                                   const TsrOsDefaults *os,
                                   const char          *nvram_dir,
                                   int                  virt_type);

/* tsr-creator-os.c */
TsrOsDefaults *tsr_creator_resolve_os (TsrCreateSpec  *spec,
                                       TsrHostCaps    *caps,
                                       gboolean        local,
                                       char          **hint,
                                       GError        **error);

gboolean tsr_creator_copy_template_nvram (virConnectPtr   conn,
                                          const char     *template_name,
                                          const char     *xml,
                                          TsrJournal     *journal,
                                          char          **copied,
                                          GError        **error);

G_END_DECLS
