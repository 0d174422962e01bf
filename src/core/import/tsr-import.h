/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-creator.h"

G_BEGIN_DECLS

/* Importing VirtualBox appliances (.ova, .ovf + disks) and disk images
 * (.vmdk, .vdi, .vhd, .vhdx, .qcow2, raw .img, or one of these inside a
 * .zip) as HVMs, in two steps that suit a wizard:
 *
 *   1. tsr_import_inspect_async (path) reads what the file holds: the VM's
 *      name, memory, vCPUs, firmware, operating system and its disks with
 *      their formats and sizes. It never changes anything.
 *   2. tsr_import_info_make_spec (info) turns that into a TsrCreateSpec the
 *      user may edit (the same fields and validation as creating a VM);
 *      tsr_connection_import_async (conn, info, spec, …) then converts the
 *      disks straight into volumes of spec->pool and defines the VM, with
 *      progress and cancel. A failure or cancel removes every volume and the
 *      domain; the input file is left as it was unless TSR_IMPORT_MOVE asks
 *      to remove it once the VM exists.
 */

typedef struct
{
  char    *name;        /* for display: "disk1.vmdk", "disk1.vmdk in app.ova" */
  char    *format;      /* source format (qemu driver): vmdk, vdi, vpc, vhdx,
                           qcow2 or raw; NULL for a new blank disk */
  guint64  capacity;    /* size the guest sees, bytes */
  guint64  required;    /* space its volume needs in the pool, bytes */
  guint64  stored_size; /* bytes the source occupies (what is read) */
  char    *source;      /* private: where qemu reads it from (a json: name) */
} TsrImportDisk;

typedef struct
{
  char      *path;            /* the file that was inspected */
  char      *kind;            /* "ova", "ovf" or "disk"; "zip/ova"… inside a zip */
  char      *name;            /* a valid VM name, suggested from the appliance */
  char      *appliance_name;  /* the name as the appliance writes it, or NULL */
  guint64    memory;          /* MiB, 0 = not given (the create default applies) */
  guint      vcpus;           /* 0 = not given */
  char      *firmware;        /* bios or uefi */
  char      *os_type;         /* as the appliance says ("Windows10_64"), or NULL */
  char      *os_family;       /* linux, windows or other */
  char      *os_id;           /* libosinfo short id for os_type, or NULL */
  GPtrArray *disks;           /* TsrImportDisk *, the first is the root */
  GStrv      warnings;        /* what is not imported, for the user to read */
  guint64    required;        /* space all volumes need in the pool, bytes */
  guint64    temp_size;       /* temporary space held while this info lives
                                 (a compressed member of a .zip), bytes */

  /*< private >*/
  char      *temp_dir;
  GStrv      move_paths;      /* what TSR_IMPORT_MOVE removes */
  gint       ref_count;
} TsrImportInfo;

typedef enum
{
  TSR_IMPORT_FLAGS_NONE = 0,
  TSR_IMPORT_MOVE       = 1 << 0,   /* remove the imported file(s) once the VM exists */
} TsrImportFlags;

#define TSR_TYPE_IMPORT_INFO (tsr_import_info_get_type ())

GType          tsr_import_info_get_type   (void) G_GNUC_CONST;
TsrImportInfo *tsr_import_info_ref        (TsrImportInfo        *info);
/* Dropping the last reference deletes the temporary files it holds. */
void           tsr_import_info_unref      (TsrImportInfo        *info);
/* A create spec filled from INFO: name, memory and vCPUs when given,
 * firmware, operating system; the rest are the create defaults.
 */
TsrCreateSpec *tsr_import_info_make_spec  (const TsrImportInfo  *info);

/* Runs in a worker; PROGRESS (may be NULL) reports extracting a
 * compressed .zip member, on the calling thread's main context.
 */
void           tsr_import_inspect_async   (const char           *path,
                                           TsrProgressFunc       progress,
                                           gpointer              progress_data,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
TsrImportInfo *tsr_import_inspect_finish  (GAsyncResult         *result,
                                           GError              **error);

/* SPEC says what to make (its root_* fields are ignored). Returns the new
 * VM's name. PROGRESS reports bytes converted of the total
 * (tsr_progress_seconds_left() turns them into a time left). NOTICE, when set, is something the user should
 * know (software emulation, fewer vCPUs than the appliance asked for).
 */
void           tsr_connection_import_async  (TsrConnection        *self,
                                             TsrImportInfo        *info,
                                             const TsrCreateSpec  *spec,
                                             TsrImportFlags        flags,
                                             TsrProgressFunc       progress,
                                             gpointer              progress_data,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
char          *tsr_connection_import_finish (TsrConnection        *self,
                                             GAsyncResult         *result,
                                             char                **notice,
                                             GError              **error);

/* tsr_connection_create_vm_async, with spec->root_copy_from or
 * root_move_from in any format above: raw and qcow2 images go through
 * create as before; anything else is inspected and imported with SPEC's
 * settings (qvm-create --root-move-from win10.vmdk).
 */
void           tsr_connection_create_vm_from_image_async  (TsrConnection        *self,
                                                           const TsrCreateSpec  *spec,
                                                           TsrProgressFunc       progress,
                                                           gpointer              progress_data,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
char          *tsr_connection_create_vm_from_image_finish (TsrConnection        *self,
                                                           GAsyncResult         *result,
                                                           char                **notice,
                                                           GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrImportInfo, tsr_import_info_unref)

G_END_DECLS
