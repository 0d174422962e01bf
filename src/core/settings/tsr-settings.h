/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* One property of a VM as `qvm-prefs` shows it. */
typedef struct
{
  char     *name;
  char     *value;          /* as text; "" for none */
  char     *default_value;  /* NULL when the property has no default */
  gboolean  is_default;     /* value is the default (shown as D) */
  gboolean  read_only;
} TsrPref;

typedef enum
{
  TSR_PREFS_NONE      = 0,
  TSR_PREFS_FORCE_MAC = 1 << 0,  /* accept a MAC another VM uses */
} TsrPrefsFlags;

/* A PCI device of the host, for the Devices page and qvm-pci. */
typedef struct
{
  char     *name;          /* libvirt node device name, pci_0000_00_1f_2 */
  char     *address;       /* 0000:00:1f.2 */
  char     *qubes_id;      /* dom0:00_1f.2 */
  char     *description;   /* vendor and product */
  char     *assigned_to;   /* VM name, or NULL */
} TsrPciDevice;

extern const char * const tsr_pref_names[];

void       tsr_pref_free                 (TsrPref        *pref);
void       tsr_pci_device_free           (TsrPciDevice   *device);
gboolean   tsr_pref_is_known             (const char     *name);
gboolean   tsr_pref_is_read_only         (const char     *name);

void       tsr_connection_get_prefs_async   (TsrConnection        *self,
                                             TsrVm                *vm,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
/* Returns the properties in tsr_pref_names order, as TsrPref. */
GPtrArray *tsr_connection_get_prefs_finish  (TsrConnection        *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* CHANGES maps property names to new values; a NULL value resets the
 * property to its default. Everything is validated together; then one new
 * persistent definition is made (plus the DHCP reservation when the MAC,
 * network or name change). Invalid input changes nothing.
 */
void       tsr_connection_set_prefs_async   (TsrConnection        *self,
                                             TsrVm                *vm,
                                             GHashTable           *changes,
                                             TsrPrefsFlags         flags,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
/* NEXT_START lists what waits for the VM's next start (NULL when nothing
 * does); WARNING says what the caller should tell the user (a shared MAC).
 */
gboolean   tsr_connection_set_prefs_finish  (TsrConnection        *self,
                                             GAsyncResult         *result,
                                             char                **next_start,
                                             char                **warning,
                                             GError              **error);

/* The choices for virt_mode on this host, e.g. { "hvm", "pvh" }, and the
 * installed kernels (from the kernels folder).
 */
void       tsr_connection_get_choices_async  (TsrConnection       *self,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean   tsr_connection_get_choices_finish (TsrConnection       *self,
                                              GAsyncResult        *result,
                                              GStrv               *virt_modes,
                                              GStrv               *kernels,
                                              GError             **error);

void       tsr_connection_list_pci_async    (TsrConnection        *self,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
GPtrArray *tsr_connection_list_pci_finish   (TsrConnection        *self,
                                             GAsyncResult         *result,
                                             GError              **error);
/* DEVICE is a node device name, an address (0000:00:1f.2) or a Qubes id
 * (dom0:00_1f.2). Attaching forces the VM to HVM.
 */
void       tsr_connection_pci_attach_async  (TsrConnection        *self,
                                             TsrVm                *vm,
                                             const char           *device,
                                             gboolean              attach,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
gboolean   tsr_connection_pci_attach_finish (TsrConnection        *self,
                                             GAsyncResult         *result,
                                             GError              **error);

/* qvm-volume list [VM]: the disks of VM, or of every VM, as TsrVolumeRow
 * (tsr-template.h), each with whether it can be reverted.
 */
void       tsr_connection_list_volumes_async   (TsrConnection        *self,
                                                TsrVm                *vm,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
GPtrArray *tsr_connection_list_volumes_finish  (TsrConnection        *self,
                                                GAsyncResult         *result,
                                                GError              **error);
/* qvm-volume revert VM:VOLUME: a halted TemplateVM's root goes back one
 * revision; *REVISION is the one it is at now.
 */
void       tsr_connection_revert_volume_async  (TsrConnection        *self,
                                                TsrVm                *vm,
                                                const char           *volume,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean   tsr_connection_revert_volume_finish (TsrConnection        *self,
                                                GAsyncResult         *result,
                                                guint                *revision,
                                                GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrPref, tsr_pref_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrPciDevice, tsr_pci_device_free)

G_END_DECLS
