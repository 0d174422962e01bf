/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What Tessera knows about an operating system, from libosinfo: the name a
 * person reads, and the defaults a new VM for it gets. libosinfo's database
 * is loaded once per process, in a worker; every call that may load it or
 * read an ISO is async, or asserts that it runs in a worker.
 */
typedef struct
{
  char     *id;           /* libosinfo short id ("win11"); NULL = not recognised */
  char     *uri;          /* libosinfo id ("http://microsoft.com/win/11") */
  char     *name;         /* "Microsoft Windows 11"; "Unknown" */
  char     *family;       /* linux, windows or other: TsrCreateSpec's os_family */
  char     *firmware;     /* bios, or uefi where the OS does not boot from BIOS */
  gboolean  virtio;       /* virtio disk and network drivers on the install media */
  gboolean  hyperv;       /* Windows: local-time clock, Hyper-V enlightenments */
  gboolean  secure_boot;  /* UEFI Secure Boot with enrolled keys (q35 + SMM) */
  gboolean  tpm;          /* an emulated TPM 2.0 */
  guint64   min_memory;   /* MiB, 0 = not known */
  guint64   memory;       /* MiB, what a new VM gets */
  guint     vcpus;
  guint64   min_disk;     /* bytes, 0 = not known */
  guint64   disk;         /* bytes, what a new VM's disk gets */
} TsrOsDefaults;

/* Tessera's own defaults, for an OS nobody recognised: BIOS, virtio,
 * 400 MiB, 2 vCPUs, 20 GiB, as they were before libosinfo.
 */
TsrOsDefaults *tsr_os_defaults_unknown (void);
TsrOsDefaults *tsr_os_defaults_copy    (const TsrOsDefaults *defaults);
void           tsr_os_defaults_free    (TsrOsDefaults       *defaults);

/* linux, windows or other: the defaults of a family with no version. */
TsrOsDefaults *tsr_os_defaults_for_family (const char *family);

/* Worker only. The defaults of the OS with libosinfo short id ID (or full
 * id URI); NULL and an error naming `osinfo-query os` when there is none.
 */
TsrOsDefaults *tsr_osinfo_defaults_sync (const char  *id,
                                         GError     **error);

/* tsr_osinfo_defaults_sync() in a worker. */
void           tsr_osinfo_defaults_async  (const char           *id,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
TsrOsDefaults *tsr_osinfo_defaults_finish (GAsyncResult         *result,
                                           GError              **error);

/* Worker only. The libosinfo short id for an OVF or VirtualBox OS type
 * ("Windows11_64", "debian11_64Guest", "Ubuntu_64"), or NULL; *FAMILY
 * gets linux, windows or other either way.
 */
char          *tsr_osinfo_match_ovf_type (const char  *os_type,
                                          char       **family);

/* Reads the ISO (or optical drive) at PATH in a worker and asks libosinfo
 * which OS it installs. Media libosinfo does not know, and files that are
 * not ISO images, give the unknown defaults; only a cancel is an error.
 */
void           tsr_osinfo_identify_async  (const char           *path,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
TsrOsDefaults *tsr_osinfo_identify_finish (GAsyncResult         *result,
                                           GError              **error);

/* One operating system of the picker. */
#define TSR_TYPE_OS_ENTRY (tsr_os_entry_get_type ())
G_DECLARE_FINAL_TYPE (TsrOsEntry, tsr_os_entry, TSR, OS_ENTRY, GObject)

const char *tsr_os_entry_get_id    (TsrOsEntry *self);
const char *tsr_os_entry_get_name  (TsrOsEntry *self);
/* "Microsoft Windows 11 (win11)": what the picker shows and searches. */
const char *tsr_os_entry_get_label (TsrOsEntry *self);

/* Every OS libosinfo knows, sorted by name, as TsrOsEntry items. */
void        tsr_osinfo_list_async  (GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
GListModel *tsr_osinfo_list_finish (GAsyncResult         *result,
                                    GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrOsDefaults, tsr_os_defaults_free)

G_END_DECLS
