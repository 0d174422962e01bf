/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <libvirt/virterror.h>

#include "tsr-libvirt-private.h"
#include "tsr-macs.h"
#include "tsr-xml-private.h"

/* The MACs of every <interface>, lower case. Read with libxml2:
 * libvirt-gconfig 4.0 leaves out interfaces of the types it does not model
 * (direct, ethernet, vhostuser…), whose MACs are taken all the same.
 */
GStrv
tsr_macs_of_domain_xml (const char *domain_xml)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(xmlDoc) doc = tsr_xml_parse (domain_xml);
  xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;

  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *mac = NULL;
      g_autofree char *lower = NULL;

      if (tsr_xml_is (n, "interface") &&
          (mac = tsr_xml_prop (tsr_xml_child (n, "mac"), "address")) != NULL)
        g_strv_builder_add (builder, (lower = g_ascii_strdown (mac, -1)));
    }
  return g_strv_builder_end (builder);
}

/* Every MAC the connection's domains use, lower case, mapped to the name of a
 * domain that uses it. except_uuid leaves out the VM being edited, which may
 * keep its own MAC.
 */
GHashTable *
tsr_macs_in_use (virConnectPtr  conn,
                 const char    *except_uuid)
{
  GHashTable *macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);

  for (int i = 0; i < n; i++)
    {
      g_autoptr(virDomain) dom = doms[i];
      char uuid[VIR_UUID_STRING_BUFLEN];
      g_autofree char *xml = NULL;
      g_auto(GStrv) found = NULL;

      if (except_uuid != NULL && virDomainGetUUIDString (dom, uuid) == 0 &&
          g_str_equal (uuid, except_uuid))
        continue;
      xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
      found = tsr_macs_of_domain_xml (xml);
      for (guint j = 0; found[j] != NULL; j++)
        g_hash_table_replace (macs, g_strdup (found[j]), g_strdup (virDomainGetName (dom)));
    }
  free (doms);
  virResetLastError ();
  return macs;
}
