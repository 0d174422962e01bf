/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "tsr-error.h"
#include "tsr-media.h"

void
tsr_media_free (TsrMedia *media)
{
  if (media == NULL)
    return;
  g_free (media->spec);
  g_free (media->path);
  g_free (media->owner);
  g_free (media->volume);
  g_free (media);
}

/* One syntax for GUI, CLI and core. Whether OWNER in OWNER:REST names a
 * pool or a VM is decided against the connection later; here only the form
 * is read: a slash after the colon means a path inside a VM, none a volume.
 */
TsrMedia *
tsr_media_parse (const char  *spec,
                 GError     **error)
{
  g_autoptr(TsrMedia) media = g_new0 (TsrMedia, 1);
  const char *colon;

  if (spec == NULL || *spec == '\0')
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                           _("No install media given: name an ISO file, a drive such as "
                             "/dev/sr0, or POOL:VOLUME."));
      return NULL;
    }

  media->spec = g_strdup (spec);

  if (g_str_has_prefix (spec, "dom0:"))
    spec += strlen ("dom0:");

  if (spec[0] == '/')
    {
      media->kind = g_str_has_prefix (spec, "/dev/") ? TSR_MEDIA_BLOCK : TSR_MEDIA_FILE;
      media->path = g_strdup (spec);
      return g_steal_pointer (&media);
    }

  colon = strchr (spec, ':');
  if (colon == NULL || colon == spec || colon[1] == '\0')
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not install media: use /path/to/file.iso, dom0:/path, /dev/sr0, "
                     "POOL:VOLUME or VM:/path."), media->spec);
      return NULL;
    }

  media->owner = g_strndup (spec, colon - spec);
  if (colon[1] == '/')
    {
      media->kind = TSR_MEDIA_VM_FILE;
      media->path = g_strdup (colon + 1);
    }
  else
    {
      media->kind = TSR_MEDIA_VOLUME;
      media->volume = g_strdup (colon + 1);
    }

  return g_steal_pointer (&media);
}

/* Host files and devices must exist and be readable before anything starts.
 * Runs in a worker: it touches the disk.
 */
gboolean
tsr_media_check_local (const TsrMedia  *media,
                       GError         **error)
{
  struct stat st;
  int fd;

  g_return_val_if_fail (media != NULL, FALSE);

  if (media->kind != TSR_MEDIA_FILE && media->kind != TSR_MEDIA_BLOCK)
    return TRUE;

  if (g_stat (media->path, &st) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Install media “%s” does not exist: check the path%s."), media->path,
                   media->kind == TSR_MEDIA_BLOCK ? _(" and that a disc is in the drive") : "");
      return FALSE;
    }

  if (media->kind == TSR_MEDIA_FILE && !S_ISREG (st.st_mode))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Install media “%s” is not a regular file: give an ISO image."),
                   media->path);
      return FALSE;
    }

  if (media->kind == TSR_MEDIA_BLOCK && !S_ISBLK (st.st_mode))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("“%s” is not a block device: give a drive such as /dev/sr0."), media->path);
      return FALSE;
    }

  fd = g_open (media->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == ENOMEDIUM)
        g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                     _("Drive “%s” has no disc in it: insert the install disc."), media->path);
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                     _("Install media “%s” cannot be read (%s): check its permissions."),
                     media->path, g_strerror (saved));
      return FALSE;
    }
  close (fd);

  return TRUE;
}
