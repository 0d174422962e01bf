/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-appliance-name.h"
#include "tsr-validate.h"

char *
tsr_import_suggest_name (const char *text)
{
  g_autoptr(GString) name = g_string_new (NULL);
  gboolean dash = FALSE;

  for (const char *p = text ? text : ""; *p; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '_' || *p == '.' || *p == '-')
        {
          if (name->len == 0 && !g_ascii_isalpha (*p))
            continue;
          if (dash && name->len > 0)
            g_string_append_c (name, '-');
          dash = FALSE;
          g_string_append_c (name, *p);
        }
      else
        dash = TRUE;
    }

  if (name->len > TSR_NAME_MAX_LEN)
    g_string_truncate (name, TSR_NAME_MAX_LEN);
  while (name->len > 0 && (name->str[name->len - 1] == '-' || name->str[name->len - 1] == '.'))
    g_string_truncate (name, name->len - 1);
  if (g_str_has_suffix (name->str, "-dm"))
    g_string_truncate (name, name->len - 3);
  if (name->len == 0)
    g_string_assign (name, "imported");
  if (!tsr_validate_vm_name (name->str, NULL))
    {
      /* reserved words: none, default, dom0… */
      if (name->len > TSR_NAME_MAX_LEN - 3)
        g_string_truncate (name, TSR_NAME_MAX_LEN - 3);
      g_string_append (name, "-vm");
    }
  return g_string_free (g_steal_pointer (&name), FALSE);
}
