/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-error.h"
#include "tsr-validate.h"

static const char * const reserved_names[] = { "none", "default", "dom0", "Domain-0", NULL };

gboolean
tsr_validate_vm_name (const char  *name,
                      GError     **error)
{
  if (name == NULL || name[0] == '\0')
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                           _("The name is empty: type a name that starts with a letter."));
      return FALSE;
    }

  if (!g_ascii_isalpha (name[0]))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                   _("“%s” is not a valid name: it must start with a letter."), name);
      return FALSE;
    }

  for (const char *p = name; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                       _("“%s” is not a valid name: only letters, digits, “_”, “.” and “-” "
                         "are allowed."), name);
          return FALSE;
        }
    }

  if (strlen (name) > TSR_NAME_MAX_LEN)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                   _("“%s” is too long: a name has at most %d characters."),
                   name, TSR_NAME_MAX_LEN);
      return FALSE;
    }

  if (g_strv_contains (reserved_names, name))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                   _("“%s” is reserved: choose another name."), name);
      return FALSE;
    }

  if (g_str_has_suffix (name, "-dm"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME,
                   _("“%s” is not allowed: names ending in “-dm” are reserved for "
                     "device-model domains."), name);
      return FALSE;
    }

  return TRUE;
}

/* Six pairs of hex digits separated by colons, read into OCTETS. */
static gboolean
mac_parse (const char *mac,
           guint       octets[6])
{
  if (mac == NULL || strlen (mac) != 17)
    return FALSE;

  for (guint i = 0; i < 6; i++)
    {
      const char *p = mac + i * 3;

      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
        return FALSE;
      if (i < 5 && p[2] != ':')
        return FALSE;
      octets[i] = g_ascii_xdigit_value (p[0]) * 16 + g_ascii_xdigit_value (p[1]);
    }
  return TRUE;
}

gboolean
tsr_validate_mac (const char  *mac,
                  GError     **error)
{
  guint octets[6];
  gboolean all_zero = TRUE;

  if (!mac_parse (mac, octets))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC,
                   _("“%s” is not a MAC address: write six pairs of hex digits separated by "
                     "colons, like 52:54:00:12:34:56."), mac ? mac : "");
      return FALSE;
    }

  for (guint i = 0; i < 6; i++)
    all_zero &= octets[i] == 0;
  if (all_zero)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC,
                   _("“%s” is not usable: a MAC address cannot be all zeros."), mac);
      return FALSE;
    }

  if (octets[0] & 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC,
                   _("“%s” is a multicast address: the first octet must be even "
                     "(for example 52:54:00:…)."), mac);
      return FALSE;
    }

  return TRUE;
}

char *
tsr_mac_normalize (const char *mac)
{
  g_return_val_if_fail (mac != NULL, NULL);

  return g_ascii_strdown (mac, -1);
}

char *
tsr_mac_generate (const char *oui)
{
  if (oui == NULL)
    oui = "52:54:00";

  return g_strdup_printf ("%s:%02x:%02x:%02x", oui,
                          g_random_int_range (0, 256),
                          g_random_int_range (0, 256),
                          g_random_int_range (0, 256));
}

/* The bytes in one UNIT ("", "k", "MiB", "GB"…); "" is DEFAULT_UNIT. */
static gboolean
size_unit (const char *unit,
           guint64     default_unit,
           guint64    *mult)
{
  static const struct { const char *names[3]; guint64 bytes; } units[] = {
    { { "b", NULL, NULL }, 1 },
    { { "k", "kib", "kb" }, 1024 },
    { { "m", "mib", "mb" }, (G_GUINT64_CONSTANT (1) << 20) },
    { { "g", "gib", "gb" }, (G_GUINT64_CONSTANT (1) << 30) },
    { { "t", "tib", "tb" }, (G_GUINT64_CONSTANT (1) << 40) },
  };

  if (*unit == '\0')
    {
      *mult = default_unit;
      return TRUE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    for (guint n = 0; n < G_N_ELEMENTS (units[i].names) && units[i].names[n]; n++)
      if (g_str_equal (unit, units[i].names[n]))
        {
          *mult = units[i].bytes;
          return TRUE;
        }
  return FALSE;
}

static gboolean
size_parse (const char *text,
            guint64     default_unit,
            guint64    *out)
{
  g_autofree char *unit = NULL;
  g_autofree char *rest = NULL;
  char *end = NULL;
  guint64 value, mult;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;

  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (errno != 0)
    return FALSE;

  rest = g_strdup (end);
  unit = g_ascii_strdown (g_strstrip (rest), -1);
  if (!size_unit (unit, default_unit, &mult) || value > G_MAXUINT64 / mult)
    return FALSE;

  *out = value * mult;
  return TRUE;
}

/* "400", "400M", "2G", "20GiB", "512MB"; DEFAULT_UNIT applies to a bare
 * number.
 */
gboolean
tsr_parse_size (const char  *text,
                guint64      default_unit,
                guint64     *out,
                GError     **error)
{
  if (size_parse (text, default_unit, out))
    return TRUE;

  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("“%s” is not a size: write a number with an optional unit, like 400, 512M or "
                 "20G."), text ? text : "");
  return FALSE;
}
