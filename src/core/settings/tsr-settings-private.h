/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libvirt/libvirt.h>
#include <libxml/tree.h>

#include "tsr-connection.h"
#include "tsr-settings.h"

G_BEGIN_DECLS


/* A VM's settings, read from its persistent definition. */
typedef struct
{
  char     *name;
  char     *uuid;
  char     *label;
  char     *klass;
  char     *template_name;
  char     *virt_mode;
  char     *kernel;
  char     *kernelopts;
  char     *mac;
  char     *mac_auto;  /* the automatic MAC a fixed one replaced */
  char     *netvm;
  char     *firmware;
  char     *default_user;
  char     *storage;
  gboolean  debug;
  gboolean  include_in_backups;
  gboolean  autostart;
  gboolean  mac_fixed;
  gboolean  has_pci;
  guint64   memory;
  guint64   maxmem;
  guint     vcpus;
} Prefs;

void         tsr_settings_prefs_free       (Prefs *p);
Prefs       *tsr_settings_prefs_copy       (const Prefs *p);
xmlNodePtr   tsr_settings_tessera_metadata (xmlNodePtr root,
                                            gboolean   create);
void         tsr_settings_metadata_set     (xmlNodePtr  vm,
                                            const char *key,
                                            const char *value);
Prefs       *tsr_settings_prefs_parse      (const char  *xml,
                                            const char  *kernels_dir,
                                            GError     **error);
const char  *tsr_settings_default_netvm    (void);
Prefs       *tsr_settings_read_prefs_sync  (virConnectPtr   conn,
                                            virDomainPtr    dom,
                                            const char     *kernels_dir,
                                            GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prefs, tsr_settings_prefs_free)


G_END_DECLS
