/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "tsr-archive.h"
#include "tsr-error.h"
#include "tsr-ovf.h"
#include "tsr-xml-private.h"

/* Everything here reads XML a stranger may have written: every number is
 * checked against the limits in tsr-ovf.h before it is used, and every
 * refusal says what was wrong with the descriptor.
 */

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

static void
ovf_disk_free (TsrOvfDisk *disk)
{
  g_free (disk->id);
  g_free (disk->href);
  g_free (disk->format);
  g_free (disk);
}

void
tsr_ovf_free (TsrOvf *ovf)
{
  if (ovf == NULL)
    return;
  g_free (ovf->name);
  g_free (ovf->firmware);
  g_free (ovf->os_type);
  g_clear_pointer (&ovf->disks, g_ptr_array_unref);
  g_clear_pointer (&ovf->warnings, g_ptr_array_unref);
  g_free (ovf);
}

/* The first element NAME anywhere below NODE. Element names compare
 * without their namespace prefix (tsr_xml_is looks at the local name):
 * OVF writers use ovf:, rasd:, vssd:, vbox: and none at all, and OVF 1 and
 * 2 differ only in the namespace.
 */
static xmlNodePtr
find_el (xmlNodePtr  node,
         const char *name,
         guint       depth)
{
  if (depth > 64)
    return NULL;
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      xmlNodePtr found;

      if (tsr_xml_is (n, name))
        return n;
      if (n->type == XML_ELEMENT_NODE && (found = find_el (n, name, depth + 1)) != NULL)
        return found;
    }
  return NULL;
}

/* An attribute by local name, whatever its namespace (ovf:href, href). */
static char *
attr (xmlNodePtr  node,
      const char *name)
{
  for (xmlAttrPtr a = node->properties; a; a = a->next)
    if (strcmp ((const char *) a->name, name) == 0)
      {
        xmlChar *value = xmlNodeListGetString (node->doc, a->children, 1);
        char *ret = g_strdup (value ? (const char *) value : "");

        xmlFree (value);
        return ret;
      }
  return NULL;
}

static char *
text_of (xmlNodePtr node)
{
  xmlChar *value;
  char *ret;

  if (node == NULL)
    return NULL;
  value = xmlNodeGetContent (node);
  ret = g_strstrip (g_strdup (value ? (const char *) value : ""));
  xmlFree (value);
  return ret;
}

static char *
child_text (xmlNodePtr  node,
            const char *name)
{
  return text_of (tsr_xml_child (node, name));
}

static gboolean
parse_u64 (const char *text,
           guint64    *out)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  for (const char *p = text; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || value > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      value = value * 10 + (*p - '0');
    }
  *out = value;
  return TRUE;
}

/* "byte", "byte * 2^20", "MegaBytes", "KB"… as a multiplier in bytes. */
static gboolean
parse_units (const char *text,
             guint64    *mult)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (text == NULL)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (s, g_ascii_tolower (*p));

  if (g_str_equal (s->str, "byte") || g_str_equal (s->str, "bytes"))
    *mult = 1;
  else if (g_str_has_prefix (s->str, "byte*2^"))
    {
      guint64 exp;

      if (!parse_u64 (s->str + strlen ("byte*2^"), &exp) || exp > 60)
        return FALSE;
      *mult = G_GUINT64_CONSTANT (1) << exp;
    }
  else if (g_str_has_prefix (s->str, "byte*"))
    {
      if (!parse_u64 (s->str + strlen ("byte*"), mult) || *mult == 0 || *mult > (G_GUINT64_CONSTANT (1) << 60))
        return FALSE;
    }
  else if (g_str_equal (s->str, "kilobytes") || g_str_equal (s->str, "kb") || g_str_equal (s->str, "kib"))
    *mult = 1024;
  else if (g_str_equal (s->str, "megabytes") || g_str_equal (s->str, "mb") || g_str_equal (s->str, "mib"))
    *mult = MIB;
  else if (g_str_equal (s->str, "gigabytes") || g_str_equal (s->str, "gb") || g_str_equal (s->str, "gib"))
    *mult = MIB * 1024;
  else if (g_str_equal (s->str, "terabytes") || g_str_equal (s->str, "tb") || g_str_equal (s->str, "tib"))
    *mult = MIB * 1024 * 1024;
  else
    return FALSE;
  return TRUE;
}

static const char *
format_from_uri (const char *uri)
{
  g_autofree char *lower = NULL;

  if (uri == NULL || *uri == '\0')
    return NULL;
  lower = g_ascii_strdown (uri, -1);
  if (strstr (lower, "vmdk"))
    return "vmdk";
  if (strstr (lower, "vhdx"))
    return "vhdx";
  if (strstr (lower, "vhd") || strstr (lower, "virtualserver"))
    return "vpc";
  if (strstr (lower, "vdi") || strstr (lower, "virtualbox"))
    return "vdi";
  if (strstr (lower, "qcow"))
    return "qcow2";
  if (strstr (lower, "raw"))
    return "raw";
  return NULL;
}

typedef struct
{
  char    *href;
  guint64  size;
} OvfFile;

static void
ovf_file_free (OvfFile *file)
{
  g_free (file->href);
  g_free (file);
}

typedef struct
{
  char  *disk_id;
  char  *parent;
  gint64 controller;
  gint64 address;
  guint  index;
} Attachment;

static int
attachment_compare (gconstpointer a,
                    gconstpointer b)
{
  const Attachment *x = *(const Attachment * const *) a;
  const Attachment *y = *(const Attachment * const *) b;

  if (x->controller != y->controller)
    return x->controller < y->controller ? -1 : 1;
  if (x->address != y->address)
    return x->address < y->address ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

static void
attachment_free (Attachment *a)
{
  g_free (a->disk_id);
  g_free (a->parent);
  g_free (a);
}

static void
set_bad_ovf (GError     **error,
             const char  *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
set_bad_ovf (GError     **error,
             const char  *format,
             ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("The appliance’s OVF descriptor is not usable: %s Export the appliance "
                 "again."), what);
}

static gboolean
parse_references (xmlNodePtr    envelope,
                  GHashTable   *files,
                  GError      **error)
{
  g_autoptr(GHashTable) hrefs = g_hash_table_new (g_str_hash, g_str_equal);
  xmlNodePtr refs = tsr_xml_child (envelope, "References");

  for (xmlNodePtr n = refs ? refs->children : NULL; n; n = n->next)
    {
      g_autofree char *id = NULL;
      g_autofree char *href = NULL;
      g_autofree char *size = NULL;
      g_autofree char *compression = NULL;
      g_autofree char *chunk = NULL;
      OvfFile *file;

      if (!tsr_xml_is (n, "File"))
        continue;
      id = attr (n, "id");
      href = attr (n, "href");
      size = attr (n, "size");
      compression = attr (n, "compression");
      chunk = attr (n, "chunkSize");

      if (id == NULL || *id == '\0' || href == NULL)
        {
          set_bad_ovf (error, _("a <File> in <References> lacks its id or href."));
          return FALSE;
        }
      if (!tsr_archive_name_is_safe (href))
        {
          g_autofree char *shown = g_strescape (href, NULL);

          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The appliance refers to the file “%s”, which is outside the "
                         "appliance: only files inside it are imported."), shown);
          return FALSE;
        }
      if (g_hash_table_contains (files, id) || g_hash_table_contains (hrefs, href))
        {
          set_bad_ovf (error, _("it lists the file “%s” twice."), href);
          return FALSE;
        }
      if (compression != NULL && *compression != '\0' && !g_str_equal (compression, "identity"))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("The appliance’s disk “%s” is %s-compressed, which Tessera cannot "
                         "read in place: export the appliance again without compression."),
                       href, compression);
          return FALSE;
        }
      if (chunk != NULL && *chunk != '\0')
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("The appliance’s disk “%s” is split into chunks, which Tessera cannot "
                         "read: export the appliance again without chunking."), href);
          return FALSE;
        }

      file = g_new0 (OvfFile, 1);
      file->href = g_strdup (href);
      if (size != NULL && !parse_u64 (size, &file->size))
        file->size = 0;
      g_hash_table_add (hrefs, file->href);
      g_hash_table_insert (files, g_steal_pointer (&id), file);
    }
  return TRUE;
}

static gboolean
parse_disks (xmlNodePtr    envelope,
             GHashTable   *files,
             GHashTable   *disks,
             GPtrArray    *disk_order,
             GPtrArray    *warnings,
             GError      **error)
{
  g_autoptr(GHashTable) used_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (xmlNodePtr section = envelope->children; section; section = section->next)
    {
      if (!tsr_xml_is (section, "DiskSection"))
        continue;
      for (xmlNodePtr n = section->children; n; n = n->next)
        {
          g_autofree char *id = NULL;
          g_autofree char *file_ref = NULL;
          g_autofree char *capacity = NULL;
          g_autofree char *units = NULL;
          g_autofree char *format = NULL;
          TsrOvfDisk *disk;
          guint64 mult = 1;

          if (!tsr_xml_is (n, "Disk"))
            continue;
          id = attr (n, "diskId");
          file_ref = attr (n, "fileRef");
          capacity = attr (n, "capacity");
          units = attr (n, "capacityAllocationUnits");
          format = attr (n, "format");

          if (id == NULL || *id == '\0')
            {
              set_bad_ovf (error, _("a <Disk> lacks its diskId."));
              return FALSE;
            }
          if (g_hash_table_contains (disks, id))
            {
              set_bad_ovf (error, _("it describes the disk “%s” twice."), id);
              return FALSE;
            }
          if (g_hash_table_size (disks) >= TSR_OVF_MAX_DISKS)
            {
              set_bad_ovf (error, _("it has more than %d disks."), TSR_OVF_MAX_DISKS);
              return FALSE;
            }

          disk = g_new0 (TsrOvfDisk, 1);
          disk->id = g_strdup (id);
          disk->format = g_strdup (format_from_uri (format));
          g_hash_table_insert (disks, disk->id, disk);
          g_ptr_array_add (disk_order, disk);

          if (file_ref != NULL && *file_ref != '\0')
            {
              OvfFile *file = g_hash_table_lookup (files, file_ref);

              if (file == NULL)
                {
                  set_bad_ovf (error, _("its disk “%s” names the file “%s”, which it does not "
                                        "list in <References>."), id, file_ref);
                  return FALSE;
                }
              if (g_hash_table_contains (used_files, file_ref))
                {
                  set_bad_ovf (error, _("two disks use the same file “%s”."), file->href);
                  return FALSE;
                }
              g_hash_table_add (used_files, g_strdup (file_ref));
              disk->href = g_strdup (file->href);
              disk->file_size = file->size;
            }

          if (units != NULL && !parse_units (units, &mult))
            {
              set_bad_ovf (error, _("the disk “%s” has a capacity in unknown units “%s”."),
                           id, units);
              return FALSE;
            }
          if (capacity != NULL && parse_u64 (capacity, &disk->capacity))
            {
              if (disk->capacity > TSR_OVF_MAX_CAPACITY / mult)
                {
                  set_bad_ovf (error, _("the disk “%s” claims an absurd size (over 1 PiB)."), id);
                  return FALSE;
                }
              disk->capacity *= mult;
            }
          else if (capacity != NULL)
            g_ptr_array_add (warnings, g_strdup_printf (_("The size of disk “%s” (“%s”) is not "
                                                          "a number; the image’s own size is "
                                                          "used."), id, capacity));
          if (disk->href == NULL && disk->capacity == 0)
            {
              set_bad_ovf (error, _("the disk “%s” has neither a file nor a size."), id);
              return FALSE;
            }
        }
    }
  return TRUE;
}

static xmlNodePtr
find_virtual_system (xmlNodePtr   envelope,
                     GError     **error)
{
  xmlNodePtr system = tsr_xml_child (envelope, "VirtualSystem");
  xmlNodePtr collection = tsr_xml_child (envelope, "VirtualSystemCollection");
  guint count = 0;

  if (system == NULL && collection != NULL)
    for (xmlNodePtr n = collection->children; n; n = n->next)
      if (tsr_xml_is (n, "VirtualSystem"))
        {
          if (system == NULL)
            system = n;
          count++;
        }

  if (count > 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("The appliance holds %u VMs; Tessera imports one VM per appliance: export "
                     "them from VirtualBox one by one."), count);
      return NULL;
    }
  if (system == NULL)
    {
      set_bad_ovf (error, _("it describes no virtual machine (<VirtualSystem>)."));
      return NULL;
    }
  return system;
}

static gboolean
parse_memory (TsrOvf      *ovf,
              const char  *quantity_text,
              const char  *units,
              GError     **error)
{
  guint64 mult = MIB;
  guint64 quantity = 0;

  if (units != NULL && !parse_units (units, &mult))
    {
      set_bad_ovf (error, _("its memory is in unknown units “%s”."), units);
      return FALSE;
    }
  if (!parse_u64 (quantity_text, &quantity) || quantity == 0 ||
      quantity > TSR_OVF_MAX_MEMORY_MIB * MIB / mult)
    {
      set_bad_ovf (error, _("it asks for an absurd amount of memory (“%s”)."),
                   quantity_text ? quantity_text : "");
      return FALSE;
    }
  ovf->memory = MAX (quantity * mult / MIB, 1);
  return TRUE;
}

/* A disk drive ITEM, the INDEX-th item of the hardware, using the disk
 * HOST (ovf:/disk/ID).
 */
static gboolean
add_attachment (xmlNodePtr    item,
                const char   *host,
                guint         index,
                GHashTable   *disks,
                GHashTable   *files,
                GPtrArray    *attachments,
                GError      **error)
{
  const char *ref = host;
  g_autofree char *parent = child_text (item, "Parent");
  g_autofree char *address = child_text (item, "AddressOnParent");
  Attachment *a;
  guint64 addr = 0;

  if (g_str_has_prefix (ref, "ovf:"))
    ref += strlen ("ovf:");
  if (g_str_has_prefix (ref, "/disk/"))
    ref += strlen ("/disk/");
  else if (g_str_has_prefix (ref, "/file/") && g_hash_table_contains (files, ref + 6))
    {
      set_bad_ovf (error, _("a disk drive uses the file “%s” without a <Disk> "
                            "describing it."), ref + 6);
      return FALSE;
    }
  if (!g_hash_table_contains (disks, ref))
    {
      set_bad_ovf (error, _("a disk drive uses the disk “%s”, which it does not "
                            "describe."), host);
      return FALSE;
    }
  for (guint i = 0; i < attachments->len; i++)
    if (g_str_equal (((Attachment *) g_ptr_array_index (attachments, i))->disk_id, ref))
      {
        set_bad_ovf (error, _("the disk “%s” is attached twice."), ref);
        return FALSE;
      }
  a = g_new0 (Attachment, 1);
  a->disk_id = g_strdup (ref);
  a->index = index;
  a->parent = g_steal_pointer (&parent);
  a->address = parse_u64 (address, &addr) && addr < G_MAXINT32 ? (gint64) addr : 0;
  g_ptr_array_add (attachments, a);
  return TRUE;
}

static gboolean
parse_hardware (xmlNodePtr    system,
                TsrOvf       *ovf,
                GHashTable   *disks,
                GHashTable   *files,
                GPtrArray    *attachments,
                GError      **error)
{
  xmlNodePtr hw = tsr_xml_child (system, "VirtualHardwareSection");
  g_autoptr(GHashTable) controllers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint index = 0, nics = 0;
  gboolean sound = FALSE;

  for (xmlNodePtr item = hw ? hw->children : NULL; item; item = item->next, index++)
    {
      g_autofree char *type_text = NULL;
      g_autofree char *quantity_text = NULL;
      g_autofree char *units = NULL;
      g_autofree char *instance = NULL;
      g_autofree char *host = NULL;
      guint64 type = 0, quantity = 0;

      if (!tsr_xml_is (item, "Item") && !tsr_xml_is (item, "StorageItem") && !tsr_xml_is (item, "EthernetPortItem"))
        continue;
      type_text = child_text (item, "ResourceType");
      if (!parse_u64 (type_text, &type))
        continue;
      quantity_text = child_text (item, "VirtualQuantity");
      units = child_text (item, "AllocationUnits");
      instance = child_text (item, "InstanceID");
      host = child_text (item, "HostResource");

      switch (type)
        {
        case 3:                 /* processor */
          if (!parse_u64 (quantity_text, &quantity) || quantity == 0 || quantity > TSR_OVF_MAX_VCPUS)
            {
              set_bad_ovf (error, _("it asks for an impossible number of vCPUs (“%s”)."),
                           quantity_text ? quantity_text : "");
              return FALSE;
            }
          ovf->vcpus = (guint) quantity;
          break;

        case 4:                 /* memory */
          if (!parse_memory (ovf, quantity_text, units, error))
            return FALSE;
          break;

        case 5: case 6: case 7: case 8: case 20:   /* IDE, SCSI, FC, iSCSI, SATA… */
          if (instance != NULL)
            g_hash_table_insert (controllers, g_strdup (instance), GUINT_TO_POINTER (index + 1));
          break;

        case 10:
          nics++;
          break;

        case 35:
          sound = TRUE;
          break;

        case 15: case 16:       /* CD/DVD */
          if (host != NULL && *host != '\0')
            g_ptr_array_add (ovf->warnings,
                             g_strdup_printf (_("The CD/DVD image “%s” is not attached; attach "
                                                "install media when you start the VM."), host));
          break;

        case 17:                /* disk drive */
          if (host != NULL && *host != '\0'
              && !add_attachment (item, host, index, disks, files, attachments, error))
            return FALSE;
          break;

        default:
          break;
        }
    }

  /* Disks sort by their controller's place in the list, then by port. */
  for (guint i = 0; i < attachments->len; i++)
    {
      Attachment *a = g_ptr_array_index (attachments, i);
      gpointer place = a->parent ? g_hash_table_lookup (controllers, a->parent) : NULL;

      a->controller = place ? GPOINTER_TO_UINT (place) : G_MAXINT64;
    }

  if (nics > 1)
    g_ptr_array_add (ovf->warnings,
                     g_strdup_printf (_("The appliance has %u network adapters; the VM gets one, "
                                        "on the network you choose."), nics));
  if (sound)
    g_ptr_array_add (ovf->warnings, g_strdup (_("The sound card is not imported.")));
  return TRUE;
}

/* VirtualBox: <vbox:Machine><Hardware><Firmware type="EFI"/>; VMware and
 * others: <vmw:Config vmw:key="firmware" vmw:value="efi"/>.
 */
static gboolean
wants_efi (xmlNodePtr node,
           guint      depth)
{
  if (depth > 64)
    return FALSE;
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;
      if (tsr_xml_is (n, "Firmware"))
        {
          g_autofree char *type = attr (n, "type");
          g_autofree char *lower = type ? g_ascii_strdown (type, -1) : NULL;

          if (lower != NULL && g_str_has_prefix (lower, "efi"))
            return TRUE;
        }
      else if (tsr_xml_is (n, "Config"))
        {
          g_autofree char *key = attr (n, "key");
          g_autofree char *value = attr (n, "value");

          if (g_strcmp0 (key, "firmware") == 0 && value != NULL &&
              g_ascii_strncasecmp (value, "efi", 3) == 0)
            return TRUE;
        }
      if (wants_efi (n, depth + 1))
        return TRUE;
    }
  return FALSE;
}

static void
silent_error_cb (void       *context,
                 const char *format,
                 ...)
{
}

/* The descriptor as an XML tree, parsed with no network, no external
 * entities or DTDs and no entity substitution: libxml2's defaults plus
 * NONET, and its limits against entity bombs. OVF is UTF-8 (VirtualBox
 * writes nothing else), so no other decoder is ever reached, whatever the
 * file declares.
 */
static xmlDocPtr
read_descriptor (const char  *data,
                 gsize        len,
                 GError     **error)
{
  xmlParserCtxtPtr ctxt;
  xmlGenericErrorFunc old_handler;
  void *old_context;
  xmlDocPtr doc;

  if (len > TSR_OVF_MAX_SIZE)
    {
      set_bad_ovf (error, _("it is larger than %d MiB, far more than a descriptor needs."),
                   TSR_OVF_MAX_SIZE / (1024 * 1024));
      return NULL;
    }
  if (len == 0 || len > G_MAXINT)
    {
      set_bad_ovf (error, _("it is empty."));
      return NULL;
    }

  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    {
      set_bad_ovf (error, _("out of memory."));
      return NULL;
    }
  /* libxml2 reports encoding errors on stderr as well; this thread's
   * handler is silenced for the parse, the error comes back as a GError.
   */
  old_handler = xmlGenericError;
  old_context = xmlGenericErrorContext;
  xmlSetGenericErrorFunc (NULL, silent_error_cb);
  doc = xmlCtxtReadMemory (ctxt, data, (int) len, "descriptor.ovf", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlSetGenericErrorFunc (old_context, old_handler);
  if (doc == NULL)
    {
      const xmlError *xerr = xmlCtxtGetLastError (ctxt);
      g_autofree char *msg = g_strstrip (g_strdelimit (g_strdup (xerr && xerr->message ? xerr->message : ""),
                                                       "\n", ' '));

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance’s OVF descriptor is not valid XML (line %d: %s): the "
                     "appliance is damaged; export it again."), xerr ? xerr->line : 0, msg);
      xmlFreeParserCtxt (ctxt);
      return NULL;
    }
  xmlFreeParserCtxt (ctxt);

  /* An OVF needs no DTD; refusing one rules out entity expansion tricks. */
  if (doc->intSubset != NULL || doc->extSubset != NULL)
    {
      set_bad_ovf (error, _("it declares a DTD, which OVF descriptors never do."));
      xmlFreeDoc (doc);
      return NULL;
    }
  return doc;
}

/* The name, the VirtualBox fallbacks for vCPUs and memory, the firmware
 * and the operating system of SYSTEM.
 */
static void
read_identity (TsrOvf     *ovf,
               xmlNodePtr  system)
{
  xmlNodePtr machine = find_el (system, "Machine", 0);
  xmlNodePtr os = tsr_xml_child (system, "OperatingSystemSection");
  g_autofree char *os_type = NULL;

  ovf->name = child_text (system, "Name");
  if (ovf->name == NULL || *ovf->name == '\0')
    {
      g_free (ovf->name);
      ovf->name = attr (system, "id");
    }
  if ((ovf->name == NULL || *ovf->name == '\0') && machine != NULL)
    {
      g_free (ovf->name);
      ovf->name = attr (machine, "name");
    }

  /* VirtualBox repeats the hardware in its own section; it is the fallback. */
  if (machine != NULL)
    {
      xmlNodePtr hw = tsr_xml_child (machine, "Hardware");
      xmlNodePtr cpu = tsr_xml_child (hw, "CPU");
      xmlNodePtr mem = tsr_xml_child (hw, "Memory");
      g_autofree char *count = cpu ? attr (cpu, "count") : NULL;
      g_autofree char *ram = mem ? attr (mem, "RAMSize") : NULL;
      guint64 value;

      if (ovf->vcpus == 0 && parse_u64 (count, &value) && value > 0 && value <= TSR_OVF_MAX_VCPUS)
        ovf->vcpus = (guint) value;
      if (ovf->memory == 0 && parse_u64 (ram, &value) && value > 0 && value <= TSR_OVF_MAX_MEMORY_MIB)
        ovf->memory = value;
    }

  ovf->firmware = g_strdup (wants_efi (system, 0) ? "uefi" : "bios");

  os_type = child_text (os, "OSType");
  if (os_type == NULL || *os_type == '\0')
    {
      g_free (os_type);
      os_type = child_text (os, "Description");
    }
  if (os_type != NULL && *os_type != '\0')
    ovf->os_type = g_steal_pointer (&os_type);
}

/* Attached disks in controller and port order, then any others. */
static void
order_disks (TsrOvf     *ovf,
             GPtrArray  *attachments,
             GHashTable *disks,
             GPtrArray  *disk_order)
{
  g_ptr_array_sort (attachments, attachment_compare);
  for (guint i = 0; i < attachments->len; i++)
    {
      Attachment *a = g_ptr_array_index (attachments, i);
      TsrOvfDisk *disk = g_hash_table_lookup (disks, a->disk_id);
      guint at;

      if (g_ptr_array_find (disk_order, disk, &at))
        g_ptr_array_add (ovf->disks, g_ptr_array_steal_index (disk_order, at));
    }
  while (disk_order->len > 0)
    g_ptr_array_add (ovf->disks, g_ptr_array_steal_index (disk_order, 0));
}

static TsrOvf *
parse_envelope (xmlNodePtr   envelope,
                GError     **error)
{
  g_autoptr(TsrOvf) ovf = g_new0 (TsrOvf, 1);
  g_autoptr(GHashTable) files = NULL;
  g_autoptr(GHashTable) disks = NULL;
  g_autoptr(GPtrArray) disk_order = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  xmlNodePtr system;

  ovf->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) ovf_disk_free);
  ovf->warnings = g_ptr_array_new_with_free_func (g_free);
  files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) ovf_file_free);
  disks = g_hash_table_new (g_str_hash, g_str_equal);
  disk_order = g_ptr_array_new_with_free_func ((GDestroyNotify) ovf_disk_free);
  attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) attachment_free);

  if (!parse_references (envelope, files, error))
    return NULL;
  if (!parse_disks (envelope, files, disks, disk_order, ovf->warnings, error))
    return NULL;
  if (!(system = find_virtual_system (envelope, error)))
    return NULL;
  if (!parse_hardware (system, ovf, disks, files, attachments, error))
    return NULL;

  read_identity (ovf, system);
  order_disks (ovf, attachments, disks, disk_order);
  if (ovf->disks->len == 0)
    {
      set_bad_ovf (error, _("it lists no disks."));
      return NULL;
    }
  return g_steal_pointer (&ovf);
}

TsrOvf *
tsr_ovf_parse (const char  *data,
               gsize        len,
               GError     **error)
{
  xmlDocPtr doc;
  xmlNodePtr envelope;
  TsrOvf *ovf = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  doc = read_descriptor (data, len, error);
  if (doc == NULL)
    return NULL;

  envelope = xmlDocGetRootElement (doc);
  if (!tsr_xml_is (envelope, "Envelope"))
    set_bad_ovf (error, _("its root element is <%s>, not <Envelope>."),
                 envelope ? (const char *) envelope->name : "");
  else
    ovf = parse_envelope (envelope, error);

  xmlFreeDoc (doc);
  return ovf;
}
