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
  char     *os;        /* libosinfo short id (or id URI); "" = not known */
  gboolean  debug;
  gboolean  include_in_backups;
  gboolean  autostart;
  gboolean  mac_fixed;
  gboolean  has_pci;
  guint64   memory;
  guint64   maxmem;
  guint     vcpus;
  gint      revisions_to_keep;  /* a TemplateVM's; -1 for other VMs */
  guint64   private_size;       /* an AppVM's private volume, bytes; 0 for others */
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

/* tsr-settings-volumes.c */
guint64  tsr_settings_private_size_sync  (virConnectPtr   conn,
                                          virDomainPtr    dom);
gboolean tsr_settings_check_private_size (const Prefs    *old,
                                          const Prefs    *p,
                                          gboolean        running,
                                          GError        **error);
gboolean tsr_settings_grow_private_sync  (virConnectPtr   conn,
                                          virDomainPtr    dom,
                                          guint64         size,
                                          GError        **error);

/* tsr-settings-change.c */
gboolean tsr_settings_prefs_apply     (Prefs          *p,
                                       const char     *name,
                                       const char     *value,
                                       GError        **error);
void     tsr_settings_prefs_write_xml (xmlDocPtr       doc,
                                       const Prefs    *old,
                                       const Prefs    *p,
                                       const char     *kernels_dir);

static inline void
tsr_settings_replace (char       **field,
                      const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

/* What "mac" set to this means: back to an automatic MAC. */
static inline gboolean
tsr_settings_mac_is_auto (const char *value)
{
  return value == NULL || *value == '\0' || g_str_equal (value, "auto");
}


G_END_DECLS
