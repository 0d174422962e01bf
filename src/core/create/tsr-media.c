/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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
/* Folders whose files hold the host's secrets or state, never install
 * media: a path into them (after symlinks) is refused.
 */
static const char * const secret_dirs[] = {
  "/etc", "/root", "/var/lib/libvirt/qemu", "/proc", "/sys", "/boot", "/var/lib/tessera",
};

static gboolean
in_dir (const char *path,
        const char *dir)
{
  gsize len = strlen (dir);

  return strncmp (path, dir, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

const char *
tsr_path_secret_dir (const char *real_path)
{
  for (guint i = 0; i < G_N_ELEMENTS (secret_dirs); i++)
    if (in_dir (real_path, secret_dirs[i]))
      return secret_dirs[i];
  return NULL;
}

static gboolean
all_text (const guint8 *head,
          gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (head[i] < 0x09 || (head[i] > 0x0d && head[i] < 0x20 && head[i] != 0x1b))
      return FALSE;
  return len > 0;
}

const char *
tsr_media_sniff (const guint8 *head,
                 gsize         len)
{
  /* ISO 9660 (El Torito included) and UDF: a volume descriptor at 32 KiB. */
  for (gsize off = 32769; off + 5 <= len && off <= 32769 + 4 * 2048; off += 2048)
    if (memcmp (head + off, "CD001", 5) == 0 || memcmp (head + off, "BEA01", 5) == 0 ||
        memcmp (head + off, "NSR02", 5) == 0 || memcmp (head + off, "NSR03", 5) == 0)
      return NULL;
  if (len >= 4 && memcmp (head, "QFI\xfb", 4) == 0)
    return _("a qcow2 disk image (use it as a disk, with --root-copy-from)");
  /* A USB installer image: GPT, or an MBR / boot sector. */
  if (len >= 520 && memcmp (head + 512, "EFI PART", 8) == 0)
    return NULL;
  if (len >= 512 && head[510] == 0x55 && head[511] == 0xaa)
    return NULL;
  if (len == 0)
    return _("an empty file");
  if (all_text (head, MIN (len, 4096)))
    return _("a text file");
  return _("not an ISO image or a bootable disk image");
}

static gboolean
check_removable (const char   *path,
                 struct stat  *st,
                 GError      **error)
{
  g_autofree char *sys = g_strdup_printf ("/sys/dev/block/%u:%u/removable", major (st->st_rdev),
                                          minor (st->st_rdev));
  g_autofree char *value = NULL;

  /* 11: SCSI CD-ROM (sr); else the kernel's removable flag (USB sticks). */
  if (major (st->st_rdev) == 11 ||
      (g_file_get_contents (sys, &value, NULL, NULL) && g_str_has_prefix (value, "1")))
    return TRUE;
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("“%s” is a fixed disk, not an optical or removable drive: a VM may not "
                 "read the host’s disks as install media."), path);
  return FALSE;
}

gboolean
tsr_media_check_local (TsrMedia  *media,
                       GError   **error)
{
  g_autofree char *real = NULL;
  guint8 head[36864];
  struct stat st;
  ssize_t got;
  int fd;

  g_return_val_if_fail (media != NULL, FALSE);

  if (media->kind != TSR_MEDIA_FILE && media->kind != TSR_MEDIA_BLOCK)
    return TRUE;

  if (g_stat (media->path, &st) != 0 || !(real = realpath (media->path, NULL)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Install media “%s” does not exist: check the path%s."), media->path,
                   media->kind == TSR_MEDIA_BLOCK ? _(" and that a disc is in the drive") : "");
      return FALSE;
    }

  if (tsr_path_secret_dir (real) != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is in %s, which holds the host’s own files, not install media: "
                     "a VM may not read it. Copy the ISO to your folder first."),
                   media->path, tsr_path_secret_dir (real));
      return FALSE;
    }

  if (media->kind == TSR_MEDIA_FILE && !S_ISREG (st.st_mode))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Install media “%s” is not a regular file: give an ISO image."),
                   media->path);
      return FALSE;
    }

  if (media->kind == TSR_MEDIA_BLOCK &&
      (!S_ISBLK (st.st_mode) || !check_removable (media->path, &st, error)))
    {
      if (!S_ISBLK (st.st_mode))
        g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                     _("“%s” is not a block device: give a drive such as /dev/sr0."), media->path);
      return FALSE;
    }

  /* Read with this person's rights, not QEMU's. */
  fd = g_open (real, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
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

  if (media->kind == TSR_MEDIA_FILE)
    {
      const char *what;

      got = pread (fd, head, sizeof head, 0);
      what = tsr_media_sniff (head, got > 0 ? (gsize) got : 0);
      if (what != NULL)
        {
          close (fd);
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("“%s” is %s, not install media: give an ISO image or a USB installer "
                         "image."), media->path, what);
          return FALSE;
        }
    }
  close (fd);

  /* QEMU gets the file that was checked, not a link that may change. */
  g_free (media->path);
  media->path = g_steal_pointer (&real);
  return TRUE;
}
