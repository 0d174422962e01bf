/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "tsr-xml-private.h"

/* NULL for NULL, for text that is not XML and for a document without a root,
 * so callers test one thing.
 */
xmlDocPtr
tsr_xml_parse (const char *xml)
{
  xmlDocPtr doc;

  if (xml == NULL)
    return NULL;
  doc = xmlReadMemory (xml, strlen (xml), "libvirt.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc != NULL && xmlDocGetRootElement (doc) == NULL)
    g_clear_pointer (&doc, xmlFreeDoc);
  return doc;
}

/* PATH is element names joined by '/', each step taking the first match:
 * libvirt's documents hold one <os>, one <target>, one <format>.
 */
xmlNodePtr
tsr_xml_find (xmlNodePtr  node,
              const char *path)
{
  g_auto(GStrv) steps = g_strsplit (path, "/", -1);

  for (guint i = 0; steps[i] != NULL && node != NULL; i++)
    node = tsr_xml_child (node, steps[i]);
  return node;
}

char *
tsr_xml_find_prop (xmlNodePtr  node,
                   const char *path,
                   const char *name)
{
  return tsr_xml_prop (tsr_xml_find (node, path), name);
}

xmlDocPtr
tsr_xml_new (const char *root)
{
  xmlDocPtr doc = xmlNewDoc ((const xmlChar *) "1.0");

  xmlDocSetRootElement (doc, xmlNewDocNode (doc, NULL, (const xmlChar *) root, NULL));
  return doc;
}

/* TEXT (may be NULL) is stored as it is: libxml2 escapes it when writing. */
xmlNodePtr
tsr_xml_add (xmlNodePtr  parent,
             const char *name,
             const char *text)
{
  return xmlNewTextChild (parent, NULL, (const xmlChar *) name, (const xmlChar *) text);
}

/* A child with attributes, given as name and value pairs ending with NULL. */
xmlNodePtr
tsr_xml_add_with (xmlNodePtr  parent,
                  const char *name,
                  const char *first_prop,
                  ...)
{
  xmlNodePtr node = tsr_xml_add (parent, name, NULL);
  va_list args;

  va_start (args, first_prop);
  for (const char *prop = first_prop; prop != NULL; prop = va_arg (args, const char *))
    tsr_xml_set (node, prop, va_arg (args, const char *));
  va_end (args);
  return node;
}

void
tsr_xml_set (xmlNodePtr  node,
             const char *name,
             const char *value)
{
  xmlSetProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

/* xmlNodeSetContent() reads entity references in its argument, so a bare
 * '&' would be lost: escape first.
 */
void
tsr_xml_set_text (xmlNodePtr  node,
                  const char *text)
{
  xmlChar *escaped = xmlEncodeSpecialChars (node->doc, (const xmlChar *) text);

  xmlNodeSetContent (node, escaped);
  xmlFree (escaped);
}

void
tsr_xml_remove_children (xmlNodePtr  node,
                         const char *name)
{
  xmlNodePtr child;

  while ((child = tsr_xml_child (node, name)) != NULL)
    {
      xmlUnlinkNode (child);
      xmlFreeNode (child);
    }
}

/* The element NAME in namespace HREF under ROOT's <metadata>, where
 * libvirt keeps each application's own data; made with PREFIX when CREATE.
 */
xmlNodePtr
tsr_xml_metadata (xmlNodePtr  root,
                  const char *href,
                  const char *prefix,
                  const char *name,
                  gboolean    create)
{
  xmlNodePtr metadata = tsr_xml_child (root, "metadata");
  xmlNodePtr element;

  for (xmlNodePtr n = metadata ? metadata->children : NULL; n != NULL; n = n->next)
    if (tsr_xml_is (n, name) && n->ns != NULL && g_strcmp0 ((const char *) n->ns->href, href) == 0)
      return n;
  if (!create)
    return NULL;

  if (metadata == NULL)
    metadata = tsr_xml_add (root, "metadata", NULL);
  element = tsr_xml_add (metadata, name, NULL);
  xmlSetNs (element, xmlNewNs (element, (const xmlChar *) href, (const xmlChar *) prefix));
  return element;
}

/* In UTF-8, so that names read back as they were written, and without an
 * XML declaration, which fragments (a network's <host>) may not carry.
 */
char *
tsr_xml_dump (xmlDocPtr doc)
{
  xmlBufferPtr buffer = xmlBufferCreate ();
  xmlSaveCtxtPtr save = xmlSaveToBuffer (buffer, "UTF-8", XML_SAVE_NO_DECL);
  char *xml;

  xmlSaveDoc (save, doc);
  xmlSaveClose (save);
  xml = g_strndup ((const char *) xmlBufferContent (buffer), xmlBufferLength (buffer));
  xmlBufferFree (buffer);
  return xml;
}

/* Whether the pool keeps its volumes as files in a directory, the pools
 * Tessera copies into and imports to. Read with libxml2: libvirt-gconfig
 * 4.0 reports pool types it does not know (rbd, zfs…) as "dir", with a
 * critical warning.
 */
gboolean
tsr_xml_pool_holds_files (const char *pool_xml)
{
  static const char * const file_types[] = { "dir", "fs", "netfs", NULL };
  g_autoptr(xmlDoc) doc = tsr_xml_parse (pool_xml);
  g_autofree char *type = doc ? tsr_xml_prop (xmlDocGetRootElement (doc), "type") : NULL;

  return type != NULL && g_strv_contains (file_types, type);
}

/* libvirt-gconfig 4.0 writes a volume's target format but has no getter. */
char *
tsr_xml_volume_format (const char *volume_xml)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (volume_xml);

  return doc ? tsr_xml_find_prop (xmlDocGetRootElement (doc), "target/format", "type") : NULL;
}

gboolean
tsr_xml_volume_has_backing (const char *volume_xml)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (volume_xml);

  return doc != NULL && tsr_xml_child (xmlDocGetRootElement (doc), "backingStore") != NULL;
}

char *
tsr_xml_volume_with_backing (const char *name,
                             guint64     capacity,
                             const char *base,
                             const char *base_format)
{
  g_autoptr(GVirConfigStorageVol) vol = gvir_config_storage_vol_new ();
  g_autoptr(GVirConfigStorageVolTarget) target = gvir_config_storage_vol_target_new ();

  gvir_config_storage_vol_set_name (vol, name);
  gvir_config_storage_vol_set_capacity (vol, capacity);
  gvir_config_storage_vol_set_allocation (vol, 0);
  gvir_config_storage_vol_target_set_format (target, "qcow2");
  gvir_config_storage_vol_target_set_compat (target, "1.1");
  gvir_config_storage_vol_set_target (vol, target);
  if (base != NULL)
    {
      g_autoptr(GVirConfigStorageVolBackingStore) backing = gvir_config_storage_vol_backing_store_new ();

      gvir_config_storage_vol_backing_store_set_path (backing, base);
      gvir_config_storage_vol_backing_store_set_format (backing, base_format);
      gvir_config_storage_vol_set_backing_store (vol, backing);
    }
  return gvir_config_object_to_xml (GVIR_CONFIG_OBJECT (vol));
}
