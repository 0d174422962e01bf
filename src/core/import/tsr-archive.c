/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-archive-private.h"
#include "tsr-error.h"

/* Archive members as the tar and zip readers hand them out, and the checks
 * every member's name passes whichever archive it comes from: the names
 * are a stranger's, and a later step writes files by them.
 */

void
tsr_archive_member_free (TsrArchiveMember *member)
{
  if (member == NULL)
    return;
  g_free (member->name);
  g_free (member);
}

gboolean
tsr_archive_name_is_safe (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (name == NULL || *name == '\0' || *name == '/' || strlen (name) > TSR_ARCHIVE_MAX_NAME)
    return FALSE;
  for (const char *p = name; *p; p++)
    if ((guchar) *p < 0x20 || *p == '\\' || *p == 0x7f)
      return FALSE;
  /* A URL (http://…, file:…) is not a member of the appliance either. */
  if (strchr (name, ':') != NULL)
    return FALSE;

  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

char *
tsr_archive_normalise_name (const char *name)
{
  while (g_str_has_prefix (name, "./"))
    name += 2;
  while (*name == '/' && name[1] == '/')
    name++;
  return g_strdup (name);
}

const TsrArchiveMember *
tsr_archive_find (GPtrArray  *members,
                  const char *name)
{
  g_autofree char *wanted = NULL;

  g_return_val_if_fail (members != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  wanted = tsr_archive_normalise_name (name);
  for (guint i = 0; i < members->len; i++)
    {
      const TsrArchiveMember *member = g_ptr_array_index (members, i);

      if (g_str_equal (member->name, wanted))
        return member;
    }
  return NULL;
}

gboolean
tsr_archive_check_name (const char  *name,
                        GError     **error)
{
  if (!tsr_archive_name_is_safe (name))
    {
      g_autofree char *shown = g_strescape (name, NULL);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The archive holds a file named “%s”, which points outside the archive: "
                     "it is damaged or was made to attack the computer that opens it, so "
                     "nothing was imported."), shown);
      return FALSE;
    }
  return TRUE;
}

void
tsr_archive_set_too_many (GError **error)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("The archive holds more than %d files, far more than an appliance has: "
                 "it is not a VM export."), TSR_ARCHIVE_MAX_MEMBERS);
}

gboolean
tsr_archive_add_member (GPtrArray         *members,
                        GHashTable        *seen,
                        TsrArchiveMember  *member,
                        GError           **error)
{
  g_autoptr(TsrArchiveMember) owned = member;

  if (members->len >= TSR_ARCHIVE_MAX_MEMBERS)
    {
      tsr_archive_set_too_many (error);
      return FALSE;
    }
  if (member->regular)
    {
      if (g_hash_table_contains (seen, member->name))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The archive holds “%s” twice, so it is not clear which one is meant: "
                         "export the appliance again."), member->name);
          return FALSE;
        }
      g_hash_table_add (seen, g_strdup (member->name));
    }
  g_ptr_array_add (members, g_steal_pointer (&owned));
  return TRUE;
}

void
tsr_archive_set_truncated (GError     **error,
                           const char  *member)
{
  if (member != NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                 _("The archive is truncated: it ends inside “%s”. Copy or download it "
                   "again."), member);
  else
    g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                         _("The archive is truncated. Copy or download it again."));
}
