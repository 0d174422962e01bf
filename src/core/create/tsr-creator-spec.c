/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-validate.h"
#include "tsr-vm.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GIB (MIB * 1024)

/* Spec */

TsrCreateSpec *
tsr_create_spec_new (const char *name)
{
  TsrCreateSpec *spec = g_new0 (TsrCreateSpec, 1);

  spec->name = g_strdup (name);
  spec->label = g_strdup ("red");
  spec->klass = g_strdup ("StandaloneVM");
  spec->virt_mode = g_strdup ("hvm");
  spec->kernel = g_strdup ("");
  spec->kernelopts = g_strdup ("");
  spec->memory = 400;
  spec->maxmem = 0;
  spec->vcpus = 2;
  /* Tests point new VMs at their isolated network this way, so that the
   * Qubes commands run verbatim never make a NAT network.
   */
  spec->netvm = g_strdup (g_getenv ("TESSERA_DEFAULT_NETVM") ? g_getenv ("TESSERA_DEFAULT_NETVM")
                                                             : TSR_MANAGED_NETWORK_NAME);
  spec->disk_size = 20 * GIB;
  spec->private_size = 2 * GIB;
  spec->pool = g_strdup (TSR_DEFAULT_POOL);
  spec->firmware = g_strdup ("bios");
  spec->os_family = g_strdup ("linux");
  return spec;
}

TsrCreateSpec *
tsr_create_spec_copy (const TsrCreateSpec *spec)
{
  TsrCreateSpec *copy = g_memdup2 (spec, sizeof *spec);

  copy->name = g_strdup (spec->name);
  copy->label = g_strdup (spec->label);
  copy->klass = g_strdup (spec->klass);
  copy->template_name = g_strdup (spec->template_name);
  copy->virt_mode = g_strdup (spec->virt_mode);
  copy->kernel = g_strdup (spec->kernel);
  copy->kernelopts = g_strdup (spec->kernelopts);
  copy->netvm = g_strdup (spec->netvm);
  copy->mac = g_strdup (spec->mac);
  copy->pool = g_strdup (spec->pool);
  copy->root_copy_from = g_strdup (spec->root_copy_from);
  copy->root_move_from = g_strdup (spec->root_move_from);
  copy->firmware = g_strdup (spec->firmware);
  copy->os_family = g_strdup (spec->os_family);
  copy->os_id = g_strdup (spec->os_id);
  copy->drivers_media = g_strdup (spec->drivers_media);
  copy->root_volume = g_strdup (spec->root_volume);
  copy->extra_volumes = g_strdupv (spec->extra_volumes);
  return copy;
}

void
tsr_create_spec_free (TsrCreateSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->name);
  g_free (spec->label);
  g_free (spec->klass);
  g_free (spec->template_name);
  g_free (spec->virt_mode);
  g_free (spec->kernel);
  g_free (spec->kernelopts);
  g_free (spec->netvm);
  g_free (spec->mac);
  g_free (spec->pool);
  g_free (spec->root_copy_from);
  g_free (spec->root_move_from);
  g_free (spec->firmware);
  g_free (spec->os_family);
  g_free (spec->os_id);
  g_free (spec->drivers_media);
  g_free (spec->root_volume);
  g_strfreev (spec->extra_volumes);
  g_free (spec);
}

static gboolean
parse_uint (const char  *key,
            const char  *value,
            guint64     *out,
            GError     **error)
{
  char *end = NULL;

  if (value != NULL && g_ascii_isdigit (value[0]) &&
      (*out = g_ascii_strtoull (value, &end, 10), *end == '\0'))
    return TRUE;

  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("%s must be a whole number, not “%s”."), key, value ? value : "");
  return FALSE;
}

/* The Qubes property names of `qvm-create --property KEY=VALUE`. Values are
 * only read here; rules that need the host are checked when creating.
 */
gboolean
tsr_create_spec_set_property (TsrCreateSpec  *spec,
                              const char     *key,
                              const char     *value,
                              GError        **error)
{
  guint64 number;

  g_return_val_if_fail (spec != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  if (value == NULL)
    value = "";

  if (g_str_equal (key, "memory") || g_str_equal (key, "maxmem"))
    {
      if (!tsr_parse_size (value, MIB, &number, error))
        return FALSE;
      if (g_str_equal (key, "memory"))
        {
          spec->memory = number / MIB;
          spec->set |= TSR_SPEC_SET_MEMORY;
        }
      else
        spec->maxmem = number / MIB;
      return TRUE;
    }
  if (g_str_equal (key, "vcpus"))
    {
      if (!parse_uint (key, value, &number, error))
        return FALSE;
      spec->vcpus = (guint) MIN (number, G_MAXUINT);
      spec->set |= TSR_SPEC_SET_VCPUS;
      return TRUE;
    }
  if (g_str_equal (key, "virt_mode"))
    {
      g_autofree char *lower = g_ascii_strdown (value, -1);

      if (!g_str_equal (lower, "hvm") && !g_str_equal (lower, "pvh") && !g_str_equal (lower, "pv"))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("virt_mode must be hvm, pvh or pv, not “%s”."), value);
          return FALSE;
        }
      g_free (spec->virt_mode);
      spec->virt_mode = g_steal_pointer (&lower);
      return TRUE;
    }
  if (g_str_equal (key, "kernel"))
    {
      g_free (spec->kernel);
      spec->kernel = g_strdup (g_str_equal (value, "none") || g_str_equal (value, "(none)")
                               ? "" : value);
      return TRUE;
    }
  if (g_str_equal (key, "kernelopts"))
    {
      g_free (spec->kernelopts);
      spec->kernelopts = g_strdup (value);
      return TRUE;
    }
  if (g_str_equal (key, "netvm"))
    {
      g_free (spec->netvm);
      spec->netvm = g_strdup (*value == '\0' ? "none" : value);
      return TRUE;
    }
  if (g_str_equal (key, "mac"))
    {
      if (!tsr_validate_mac (value, error))
        return FALSE;
      g_free (spec->mac);
      spec->mac = tsr_mac_normalize (value);
      return TRUE;
    }
  if (g_str_equal (key, "label"))
    {
      g_free (spec->label);
      spec->label = g_strdup (value);
      return TRUE;
    }
  if (g_str_equal (key, "firmware"))
    {
      g_free (spec->firmware);
      spec->firmware = g_ascii_strdown (value, -1);
      spec->set |= TSR_SPEC_SET_FIRMWARE;
      return TRUE;
    }
  if (g_str_equal (key, "os"))
    {
      g_autofree char *lower = g_ascii_strdown (value, -1);

      /* A family alone, or a libosinfo short id ("win11"), which the
       * worker looks up in libosinfo's database.
       */
      g_clear_pointer (&spec->os_id, g_free);
      if (g_str_equal (lower, "linux") || g_str_equal (lower, "windows") ||
          g_str_equal (lower, "other"))
        {
          g_free (spec->os_family);
          spec->os_family = g_steal_pointer (&lower);
        }
      else if (*value != '\0')
        spec->os_id = g_strdup (value);
      return TRUE;
    }
  if (g_str_equal (key, "drivers_media"))
    {
      g_free (spec->drivers_media);
      spec->drivers_media = *value ? g_strdup (value) : NULL;
      return TRUE;
    }
  if (g_str_equal (key, "disk_size") || g_str_equal (key, "root_size"))
    {
      spec->set |= TSR_SPEC_SET_DISK;
      return tsr_parse_size (value, GIB, &spec->disk_size, error);
    }
  if (g_str_equal (key, "private_size"))
    return tsr_parse_size (value, GIB, &spec->private_size, error);

  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("Unknown property “%s”. Known: memory, maxmem, vcpus, netvm, mac, kernel, "
                 "kernelopts, virt_mode, label, firmware, os, drivers_media, disk_size, "
                 "private_size."), key);
  return FALSE;
}
