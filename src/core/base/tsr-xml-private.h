/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

G_BEGIN_DECLS

/* Reading and writing libvirt's XML through libxml2 trees and
 * libvirt-gconfig, never as text: names and paths may hold <, &, quotes
 * and any UTF-8.
 */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)

/* libvirt-gconfig 4.0 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigStorageVol, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigStorageVolTarget, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigStorageVolBackingStore, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigStoragePool, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigStoragePoolTarget, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainCapabilities, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GVirConfigDomainCapabilitiesOs, g_object_unref)

static inline gboolean
tsr_xml_is (xmlNodePtr  node,
            const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE &&
         strcmp ((const char *) node->name, name) == 0;
}

static inline char *
tsr_xml_prop (xmlNodePtr  node,
              const char *name)
{
  xmlChar *value = node ? xmlGetProp (node, (const xmlChar *) name) : NULL;
  char *ret = value ? g_strdup ((const char *) value) : NULL;

  xmlFree (value);
  return ret;
}

static inline char *
tsr_xml_text (xmlNodePtr node)
{
  xmlChar *value = node ? xmlNodeGetContent (node) : NULL;
  char *ret = value ? g_strstrip (g_strdup ((const char *) value)) : NULL;

  xmlFree (value);
  return ret;
}

static inline xmlNodePtr
tsr_xml_child (xmlNodePtr  node,
               const char *name)
{
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    if (tsr_xml_is (n, name))
      return n;
  return NULL;
}

/* Reading */
xmlDocPtr   tsr_xml_parse              (const char  *xml);
xmlNodePtr  tsr_xml_find               (xmlNodePtr   node,
                                        const char  *path);
char       *tsr_xml_find_prop          (xmlNodePtr   node,
                                        const char  *path,
                                        const char  *name);

/* Building */
xmlDocPtr   tsr_xml_new                (const char  *root);
xmlNodePtr  tsr_xml_add                (xmlNodePtr   parent,
                                        const char  *name,
                                        const char  *text);
xmlNodePtr  tsr_xml_add_with           (xmlNodePtr   parent,
                                        const char  *name,
                                        const char  *first_prop,
                                        ...) G_GNUC_NULL_TERMINATED;
void        tsr_xml_set                (xmlNodePtr   node,
                                        const char  *name,
                                        const char  *value);
void        tsr_xml_set_text           (xmlNodePtr   node,
                                        const char  *text);
void        tsr_xml_remove_children    (xmlNodePtr   node,
                                        const char  *name);
char       *tsr_xml_dump               (xmlDocPtr    doc);
xmlNodePtr  tsr_xml_metadata           (xmlNodePtr   root,
                                        const char  *href,
                                        const char  *prefix,
                                        const char  *name,
                                        gboolean     create);

/* libvirt's documents */
gboolean    tsr_xml_pool_holds_files   (const char  *pool_xml);
/* A qcow2 volume NAME of CAPACITY bytes, on BASE (of BASE_FORMAT) when
 * not NULL: an overlay, made in O(1) whatever BASE's size.
 */
char       *tsr_xml_volume_with_backing (const char *name,
                                         guint64     capacity,
                                         const char *base,
                                         const char *base_format);
char       *tsr_xml_volume_format      (const char  *volume_xml);
gboolean    tsr_xml_volume_has_backing (const char  *volume_xml);

G_END_DECLS
