/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <libvirt/virterror.h>

#include "tsr-domain-uses.h"
#include "tsr-libvirt-private.h"
#include "tsr-threads.h"
#include "tsr-vm.h"
#include "tsr-xml-private.h"

static void
disk_use_free (gpointer p)
{
  TsrDiskUse *d = p;

  g_free (d->device);
  g_free (d->target);
  g_free (d->path);
  g_free (d->pool);
  g_free (d->volume);
  g_free (d->format);
  g_free (d);
}

void
tsr_domain_uses_free (TsrDomainUses *uses)
{
  if (uses == NULL)
    return;
  g_free (uses->name);
  g_free (uses->uuid);
  g_ptr_array_unref (uses->disks);
  g_ptr_array_unref (uses->backing);
  g_strfreev (uses->bases);
  g_ptr_array_unref (uses->networks);
  g_ptr_array_unref (uses->macs);
  g_free (uses->nvram);
  g_ptr_array_unref (uses->logs);
  g_free (uses->template_name);
  g_free (uses->klass);
  g_free (uses->netvm);
  g_free (uses);
}

/* <backingStore> chains as libvirt shows them for running domains. */
static void
read_backing (TsrDomainUses *uses,
              xmlNodePtr     node)
{
  for (xmlNodePtr b = tsr_xml_child (node, "backingStore"); b != NULL;
       b = tsr_xml_child (b, "backingStore"))
    {
      char *file = tsr_xml_find_prop (b, "source", "file");

      if (file == NULL)
        file = tsr_xml_find_prop (b, "source", "dev");
      if (file != NULL)
        g_ptr_array_add (uses->backing, file);
    }
}

static void
read_disk (TsrDomainUses *uses,
           xmlNodePtr     n)
{
  TsrDiskUse *d = g_new0 (TsrDiskUse, 1);
  xmlNodePtr source = tsr_xml_child (n, "source");

  d->device = tsr_xml_prop (n, "device");
  if (d->device == NULL)
    d->device = g_strdup ("disk");
  d->target = tsr_xml_find_prop (n, "target", "dev");
  d->format = tsr_xml_find_prop (n, "driver", "type");
  d->path = tsr_xml_prop (source, "file");
  if (d->path == NULL)
    d->path = tsr_xml_prop (source, "dev");
  d->pool = tsr_xml_prop (source, "pool");
  d->volume = tsr_xml_prop (source, "volume");
  d->readonly = tsr_xml_child (n, "readonly") != NULL;
  d->shareable = tsr_xml_child (n, "shareable") != NULL;
  g_ptr_array_add (uses->disks, d);
  read_backing (uses, n);
}

static void
read_metadata (TsrDomainUses *uses,
               xmlNodePtr     root)
{
  xmlNodePtr vm = tsr_xml_metadata (root, TSR_METADATA_NS, TSR_METADATA_PREFIX, "vm", FALSE);
  g_autoptr(GStrvBuilder) bases = g_strv_builder_new ();

  for (xmlNodePtr n = vm ? vm->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *text = tsr_xml_text (n);

      if (text == NULL || *text == '\0')
        continue;
      /* A template's root revisions are its own, like linked bases. */
      if (tsr_xml_is (n, "base") || tsr_xml_is (n, "revision"))
        g_strv_builder_add (bases, text);
      else if (tsr_xml_is (n, "template"))
        {
          g_free (uses->template_name);
          uses->template_name = g_steal_pointer (&text);
        }
      else if (tsr_xml_is (n, "class"))
        {
          g_free (uses->klass);
          uses->klass = g_steal_pointer (&text);
        }
      else if (tsr_xml_is (n, "netvm"))
        {
          g_free (uses->netvm);
          uses->netvm = g_steal_pointer (&text);
        }
    }
  uses->bases = g_strv_builder_end (bases);
}

TsrDomainUses *
tsr_domain_uses_parse (const char *xml)
{
  g_autoptr(xmlDoc) doc = xml ? tsr_xml_parse (xml) : NULL;
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  xmlNodePtr devices;
  TsrDomainUses *uses;

  if (root == NULL || !tsr_xml_is (root, "domain"))
    return NULL;

  uses = g_new0 (TsrDomainUses, 1);
  uses->disks = g_ptr_array_new_with_free_func (disk_use_free);
  uses->backing = g_ptr_array_new_with_free_func (g_free);
  uses->networks = g_ptr_array_new_with_free_func (g_free);
  uses->macs = g_ptr_array_new_with_free_func (g_free);
  uses->logs = g_ptr_array_new_with_free_func (g_free);
  uses->name = tsr_xml_text (tsr_xml_child (root, "name"));
  uses->uuid = tsr_xml_text (tsr_xml_child (root, "uuid"));
  uses->nvram = tsr_xml_text (tsr_xml_find (root, "os/nvram"));
  if (uses->nvram != NULL && *uses->nvram == '\0')
    g_clear_pointer (&uses->nvram, g_free);

  devices = tsr_xml_child (root, "devices");
  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      if (tsr_xml_is (n, "disk"))
        read_disk (uses, n);
      else if (tsr_xml_is (n, "interface"))
        {
          g_autofree char *mac = tsr_xml_find_prop (n, "mac", "address");
          char *network = tsr_xml_find_prop (n, "source", "network");

          if (mac == NULL)
            {
              g_free (network);
              continue;
            }
          g_ptr_array_add (uses->macs, g_ascii_strdown (mac, -1));
          g_ptr_array_add (uses->networks, network);
        }
      else if (tsr_xml_is (n, "serial") || tsr_xml_is (n, "console"))
        {
          char *log = tsr_xml_find_prop (n, "log", "file");

          if (log != NULL && !g_ptr_array_find_with_equal_func (uses->logs, log, g_str_equal, NULL))
            g_ptr_array_add (uses->logs, log);
          else
            g_free (log);
        }
      else if (tsr_xml_is (n, "tpm"))
        {
          g_autofree char *type = tsr_xml_find_prop (n, "backend", "type");

          uses->tpm_emulator = g_strcmp0 (type, "emulator") == 0;
        }
    }
  read_metadata (uses, root);
  return uses;
}

GPtrArray *
tsr_domain_uses_all (virConnectPtr conn)
{
  GPtrArray *all;
  virDomainPtr *doms = NULL;
  int n;

  tsr_assert_worker_thread ();
  n = virConnectListAllDomains (conn, &doms, 0);
  if (n < 0)
    return NULL;

  all = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_domain_uses_free);
  for (int i = 0; i < n; i++)
    {
      g_autoptr(virDomain) dom = doms[i];
      gboolean active = virDomainIsActive (dom) == 1;
      g_autofree char *xml = virDomainGetXMLDesc (dom, active ? 0 : VIR_DOMAIN_XML_INACTIVE);
      TsrDomainUses *uses = tsr_domain_uses_parse (xml);

      if (uses == NULL)
        continue;
      uses->active = active;
      if (active)
        {
          /* The next boot's definition may differ from the running one. */
          g_autofree char *config = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
          g_autoptr(TsrDomainUses) next = tsr_domain_uses_parse (config);

          if (next != NULL)
            {
              g_ptr_array_extend_and_steal (uses->disks, g_steal_pointer (&next->disks));
              next->disks = g_ptr_array_new ();
            }
        }
      g_ptr_array_add (all, uses);
    }
  free (doms);
  virResetLastError ();
  return all;
}

GHashTable *
tsr_domain_uses_paths (GPtrArray  *all,
                       const char *except_uuid)
{
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; all != NULL && i < all->len; i++)
    {
      TsrDomainUses *uses = g_ptr_array_index (all, i);

      if (except_uuid != NULL && g_strcmp0 (uses->uuid, except_uuid) == 0)
        continue;
      for (guint j = 0; j < uses->disks->len; j++)
        {
          TsrDiskUse *d = g_ptr_array_index (uses->disks, j);

          if (d->path != NULL)
            g_hash_table_replace (paths, g_strdup (d->path), g_strdup (uses->name));
          if (d->pool != NULL && d->volume != NULL)
            g_hash_table_replace (paths, g_strdup_printf ("%s/%s", d->pool, d->volume),
                                  g_strdup (uses->name));
        }
      for (guint j = 0; j < uses->backing->len; j++)
        g_hash_table_replace (paths, g_strdup (g_ptr_array_index (uses->backing, j)),
                              g_strdup (uses->name));
      for (guint j = 0; uses->bases[j] != NULL; j++)
        g_hash_table_replace (paths, g_strdup (uses->bases[j]), g_strdup (uses->name));
      if (uses->nvram != NULL)
        g_hash_table_replace (paths, g_strdup (uses->nvram), g_strdup (uses->name));
    }
  return paths;
}
