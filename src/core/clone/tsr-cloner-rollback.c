/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-cloner-private.h"
#include "tsr-network.h"

/* A failed or cancelled clone removes what it made, from what CloneData
 * recorded, and puts the source back as it was.
 */

void
tsr_cloner_rollback (CloneData *data)
{
  if (data->clone_dom != NULL)
    {
      if (virDomainUndefineFlags (data->clone_dom, VIR_DOMAIN_UNDEFINE_KEEP_NVRAM) < 0)
        virDomainUndefine (data->clone_dom);
      g_clear_pointer (&data->clone_dom, virDomainFree);
    }

  if (data->source_switched)
    {
      g_autoptr(virDomain) dom = virDomainDefineXML (data->conn, data->source_xml);

      if (dom != NULL)
        data->source_switched = FALSE;
    }

  for (guint i = 0; data->disks != NULL && i < data->disks->len; i++)
    {
      CloneDisk *disk = g_ptr_array_index (data->disks, i);

      /* The source still uses its overlay if it could not be switched back. */
      if (disk->overlay_vol != NULL && !data->source_switched)
        {
          virStorageVolDelete (disk->overlay_vol, 0);
          g_clear_pointer (&disk->overlay_vol, virStorageVolFree);
        }
      if (disk->base_mode_changed && !data->source_switched)
        g_chmod (disk->src_path, disk->base_mode);
      if (disk->dst_vol != NULL)
        {
          virStorageVolDelete (disk->dst_vol, 0);
          g_clear_pointer (&disk->dst_vol, virStorageVolFree);
        }
      /* Drivers whose volumes are not files (the test driver) leave ours. */
      if (disk->dst_written && disk->dst_path != NULL)
        g_unlink (disk->dst_path);
    }

  if (data->nvram_copy != NULL)
    g_unlink (data->nvram_copy);
  tsr_cloner_remove_tpm_copy (data);

  for (guint i = 0; data->reserved != NULL && i < data->reserved->len; i++)
    {
      Reservation *r = g_ptr_array_index (data->reserved, i);

      tsr_release_address_sync (data->reserve_lock, data->conn, r->network, r->mac, NULL, NULL);
    }

  virResetLastError ();
}
