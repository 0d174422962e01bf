/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-creator-private.h"
#include "tsr-error.h"
#include "tsr-media.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GIB (MIB * 1024)

/* The new VM's operating system: libosinfo's defaults for it fill in what
 * the caller left at Tessera's defaults, and say which devices and
 * firmware it gets.
 */

static char *
size_text (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

/* Below the OS's minimum is a hint, never a refusal: installers often
 * manage with less, and the user may know better.
 */
static char *
below_minimum_hint (const TsrCreateSpec *spec,
                    const TsrOsDefaults *os)
{
  GString *hint = g_string_new (NULL);

  if (os->min_memory > 0 && spec->memory < os->min_memory)
    g_string_append_printf (hint, _("%s needs at least %" G_GUINT64_FORMAT " MiB of memory; "
                                    "this VM has %" G_GUINT64_FORMAT " MiB. "),
                            os->name, os->min_memory, spec->memory);
  if (os->min_disk > 0 && spec->root_copy_from == NULL && spec->root_move_from == NULL &&
      spec->root_volume == NULL && spec->template_name == NULL && spec->disk_size < os->min_disk)
    {
      g_autofree char *min = size_text (os->min_disk);
      g_autofree char *has = size_text (spec->disk_size);

      g_string_append_printf (hint, _("%s needs a disk of at least %s; this VM’s is %s. "),
                              os->name, min, has);
    }
  if (hint->len == 0)
    return g_string_free (hint, TRUE);
  g_string_truncate (hint, hint->len - 1);
  return g_string_free (hint, FALSE);
}

static gboolean
check_drivers_media (TsrCreateSpec  *spec,
                     gboolean        local,
                     GError        **error)
{
  g_autoptr(TsrMedia) media = NULL;

  if (spec->drivers_media == NULL)
    return TRUE;
  media = tsr_media_parse (spec->drivers_media, error);
  if (media == NULL)
    return FALSE;
  if (media->kind != TSR_MEDIA_FILE)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The drivers disc must be an ISO file on the host, like "
                     "/var/lib/libvirt/images/virtio-win.iso, not “%s”."), spec->drivers_media);
      return FALSE;
    }
  if (local && !tsr_media_check_local (media, error))
    return FALSE;
  g_free (spec->drivers_media);
  spec->drivers_media = g_strdup (media->path);
  return TRUE;
}

/**
 * tsr_creator_resolve_os:
 *
 * Worker only. Looks SPEC's OS up (libosinfo short id, else family), fills
 * memory, vCPUs, disk size and firmware where SPEC did not set them, and
 * returns the OS's defaults; *HINT says what is below the OS's minimum.
 */
TsrOsDefaults *
tsr_creator_resolve_os (TsrCreateSpec  *spec,
                        TsrHostCaps    *caps,
                        gboolean        local,
                        char          **hint,
                        GError        **error)
{
  g_autoptr(TsrOsDefaults) os = NULL;

  if (spec->os_id != NULL)
    {
      if (!(os = tsr_osinfo_defaults_sync (spec->os_id, error)))
        return NULL;
      g_free (spec->os_id);
      spec->os_id = g_strdup (os->id);
    }
  else if (g_str_equal (spec->os_family, "linux") || g_str_equal (spec->os_family, "windows") ||
           g_str_equal (spec->os_family, "other"))
    os = tsr_os_defaults_for_family (spec->os_family);
  else
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Operating system must be linux, windows, other or a libosinfo short id "
                     "(like win11 or debian11), not “%s”."), spec->os_family);
      return NULL;
    }

  if (!check_drivers_media (spec, local, error))
    return NULL;

  g_free (spec->os_family);
  spec->os_family = g_strdup (os->family);
  if (spec->os_id != NULL)
    {
      /* A default never asks for more than the host has. */
      if (!(spec->set & TSR_SPEC_SET_MEMORY))
        spec->memory = MAX (spec->memory, caps->host_memory > 0 ? MIN (os->memory, caps->host_memory)
                                                                : os->memory);
      if (!(spec->set & TSR_SPEC_SET_VCPUS))
        spec->vcpus = MAX (spec->vcpus, caps->host_cpus > 0 ? MIN (os->vcpus, caps->host_cpus)
                                                            : os->vcpus);
      if (!(spec->set & TSR_SPEC_SET_DISK))
        spec->disk_size = MAX (spec->disk_size, os->disk);
      if (!(spec->set & TSR_SPEC_SET_FIRMWARE))
        {
          g_free (spec->firmware);
          spec->firmware = g_strdup (os->firmware);
        }
    }

  /* Secure Boot and the TPM come with UEFI; a user who chose BIOS gets
   * neither.
   */
  if (!g_str_equal (spec->firmware, "uefi"))
    os->secure_boot = os->tpm = FALSE;
  /* With a drivers disc, Windows gets virtio devices: the installer loads
   * the disk driver from it.
   */
  if (spec->drivers_media != NULL)
    os->virtio = TRUE;

  *hint = below_minimum_hint (spec, os);
  return g_steal_pointer (&os);
}
