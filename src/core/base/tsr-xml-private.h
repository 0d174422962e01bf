/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

static inline gboolean
tsr_xml_is (xmlNodePtr  node,
            const char *name)
{
  return node->type == XML_ELEMENT_NODE && strcmp ((const char *) node->name, name) == 0;
}

static inline char *
tsr_xml_prop (xmlNodePtr  node,
              const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *ret = value ? g_strdup ((const char *) value) : NULL;

  xmlFree (value);
  return ret;
}

static inline char *
tsr_xml_text (xmlNodePtr node)
{
  xmlChar *value = xmlNodeGetContent (node);
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

G_END_DECLS
