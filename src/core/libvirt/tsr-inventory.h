/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* A volume of a storage pool that looks like install media. */
typedef struct
{
  char    *pool;
  char    *name;
  char    *path;
  guint64  capacity;  /* bytes */
  char    *media;     /* POOL:VOLUME, in the media syntax of tsr-media.h */
} TsrInventoryVolume;

/* What a connection offers to new VMs and to "start with install media":
 * the names the drop-downs and the media picker list.
 */
typedef struct
{
  GStrv      networks;  /* libvirt networks, sorted */
  GStrv      pools;     /* storage pools, sorted */
  GPtrArray *volumes;   /* TsrInventoryVolume, ISO-looking volumes of the active pools */
  GStrv      drives;    /* host optical drives such as /dev/sr0; empty for remote hosts */
} TsrInventory;

void          tsr_inventory_free                  (TsrInventory         *inventory);
void          tsr_inventory_volume_free           (TsrInventoryVolume   *volume);
GStrv         tsr_host_list_optical_drives        (const char           *dev_dir);

void          tsr_connection_get_inventory_async  (TsrConnection        *self,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
TsrInventory *tsr_connection_get_inventory_finish (TsrConnection        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrInventory, tsr_inventory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrInventoryVolume, tsr_inventory_volume_free)

G_END_DECLS
