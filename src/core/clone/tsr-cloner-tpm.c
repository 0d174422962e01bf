/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>

#include "tsr-cloner-private.h"
#include "tsr-error.h"
#include "tsr-xml-private.h"

/* The clone's TPM state: libvirt keeps an emulated TPM's state (swtpm's
 * files: keys, BitLocker's sealed secrets, Windows Hello) in a folder
 * named after the domain's UUID, which the clone only has once it is
 * defined. A clone is an identical machine, so it gets a copy; without one
 * it would start with an empty TPM and Windows would ask for the
 * BitLocker recovery key.
 */

static gboolean
has_emulated_tpm (xmlDocPtr doc)
{
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");

  for (xmlNodePtr d = devices ? devices->children : NULL; d != NULL; d = d->next)
    if (tsr_xml_is (d, "tpm"))
      {
        g_autofree char *type = tsr_xml_find_prop (d, "backend", "type");

        if (g_strcmp0 (type, "emulator") == 0)
          return TRUE;
      }
  return FALSE;
}

/* libvirt's swtpm storage folder for CONN (qemu.conf's default). */
static char *
swtpm_folder (virConnectPtr conn)
{
  g_autofree char *uri = virConnectGetURI (conn);

  if (uri != NULL && g_str_has_suffix (uri, "/session"))
    return g_build_filename (g_get_user_config_dir (), "libvirt", "qemu", "swtpm", NULL);
  return g_strdup ("/var/lib/libvirt/swtpm");
}

/* FROM's files into TO, with their modes and owners. */
static gboolean
copy_tree (GFile   *from,
           GFile   *to,
           GError **error)
{
  g_autoptr(GFileEnumerator) children = NULL;

  if (!g_file_make_directory (to, NULL, error) ||
      !g_file_copy_attributes (from, to, G_FILE_COPY_ALL_METADATA, NULL, error))
    return FALSE;
  children = g_file_enumerate_children (from, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, error);
  if (children == NULL)
    return FALSE;
  for (;;)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;
      g_autoptr(GFile) target = NULL;

      if (!g_file_enumerator_iterate (children, &info, &child, NULL, error))
        return FALSE;
      if (info == NULL)
        return TRUE;
      target = g_file_get_child (to, g_file_info_get_name (info));
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        {
          if (!copy_tree (child, target, error))
            return FALSE;
        }
      else if (!g_file_copy (child, target, G_FILE_COPY_ALL_METADATA | G_FILE_COPY_NOFOLLOW_SYMLINKS,
                             NULL, NULL, NULL, error))
        return FALSE;
    }
}

/* After the clone is defined (it has its UUID). */
gboolean
tsr_cloner_copy_tpm_state (CloneData  *data,
                           GError    **error)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  g_autofree char *dir = NULL;
  g_autofree char *src = NULL;
  g_autofree char *dst = NULL;
  g_autoptr(GFile) from = NULL;
  g_autoptr(GFile) to = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!has_emulated_tpm (data->doc))
    return TRUE;
  if (!data->local)
    {
      g_autofree char *text =
        g_strdup_printf (_("The TPM state of “%s” could not be copied over a remote connection: "
                           "“%s” starts with an empty TPM."), data->source_name, data->spec->name);

      tsr_cloner_add_warning (data, text);
      return TRUE;
    }
  if (virDomainGetUUIDString (data->clone_dom, uuid) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the clone’s UUID"));
      return FALSE;
    }

  dir = swtpm_folder (data->conn);
  src = g_build_filename (dir, data->source_uuid, NULL);
  dst = g_build_filename (dir, uuid, NULL);
  if (!g_file_test (src, G_FILE_TEST_IS_DIR))
    return TRUE;  /* never started: the clone's TPM starts empty too */

  from = g_file_new_for_path (src);
  to = g_file_new_for_path (dst);
  data->tpm_copy = g_strdup (dst);
  if (!copy_tree (from, to, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("Could not copy the TPM state %s: %s"), src, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* A failed clone's copy, file by file (the folder holds a few). */
void
tsr_cloner_remove_tpm_copy (CloneData *data)
{
  g_autoptr(GFile) top = NULL;
  g_autoptr(GPtrArray) stack = NULL;
  g_autoptr(GPtrArray) dirs = NULL;

  if (data->tpm_copy == NULL)
    return;
  top = g_file_new_for_path (data->tpm_copy);
  stack = g_ptr_array_new_with_free_func (g_object_unref);
  dirs = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (stack, g_object_ref (top));
  while (stack->len > 0)
    {
      g_autoptr(GFile) dir = g_ptr_array_steal_index (stack, stack->len - 1);
      g_autoptr(GFileEnumerator) children =
        g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                   G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
      GFileInfo *info;
      GFile *child;

      g_ptr_array_add (dirs, g_object_ref (dir));
      while (children != NULL && g_file_enumerator_iterate (children, &info, &child, NULL, NULL) &&
             info != NULL)
        {
          if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
            g_ptr_array_add (stack, g_object_ref (child));
          else
            g_file_delete (child, NULL, NULL);
        }
    }
  for (guint i = dirs->len; i > 0; i--)
    g_file_delete (g_ptr_array_index (dirs, i - 1), NULL, NULL);
  g_clear_pointer (&data->tpm_copy, g_free);
}
