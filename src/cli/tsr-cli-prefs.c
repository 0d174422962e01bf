/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-settings.h"

/* qvm-prefs VM [PROP [VALUE]], qvm-prefs VM -s PROP VALUE and
 * qvm-prefs -D VM PROP, as in Qubes.
 */

static int
write_pref (TsrCli     *cli,
            TsrVm      *vm,
            const char *name,
            const char *value,
            gboolean    force)
{
  g_autoptr(GHashTable) changes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *next_start = NULL;
  g_autofree char *warning = NULL;

  /* A NULL value resets the property to its default. */
  g_hash_table_insert (changes, g_strdup (name), g_strdup (value));
  tsr_connection_set_prefs_async (cli->conn, vm, changes,
                                  force ? TSR_PREFS_FORCE_MAC : TSR_PREFS_NONE, NULL,
                                  tsr_cli_async_cb, cli);
  if (!tsr_connection_set_prefs_finish (cli->conn, tsr_cli_wait (cli), &next_start, &warning,
                                        &error))
    return tsr_cli_report_error (error);

  if (warning != NULL)
    g_printerr (_("Warning: %s\n"), warning);
  if (next_start != NULL)
    g_printerr (_("Takes effect at the next start: %s.\n"), next_start);
  return TSR_CLI_EXIT_OK;
}

/* With NAME, only that property's value; else all, as Qubes lists them. */
static void
print_prefs (GPtrArray  *prefs,
             const char *name,
             gboolean    hide_default)
{
  gsize width = 0;

  if (name != NULL)
    {
      for (guint i = 0; i < prefs->len; i++)
        {
          TsrPref *pref = g_ptr_array_index (prefs, i);

          if (g_str_equal (pref->name, name))
            {
              g_autofree char *value = tsr_cli_printable (pref->value);

              g_print ("%s\n", value);
            }
        }
      return;
    }

  for (guint i = 0; i < prefs->len; i++)
    width = MAX (width, strlen (((TsrPref *) g_ptr_array_index (prefs, i))->name));

  /* As Qubes: name, D for a default value or - for a set one, value. */
  for (guint i = 0; i < prefs->len; i++)
    {
      TsrPref *pref = g_ptr_array_index (prefs, i);
      g_autofree char *value = NULL;

      if (hide_default && pref->is_default)
        continue;
      value = tsr_cli_printable (pref->value);
      g_print ("%-*s  %s  %s\n", (int) width, pref->name, pref->is_default ? "D" : "-",
               value);
    }
}

int
tsr_cli_prefs (int    argc,
               char **argv)
{
  gboolean set_old_style = FALSE, reset = FALSE, force = FALSE, hide_default = FALSE;
  const GOptionEntry entries[] = {
    { "set", 's', 0, G_OPTION_ARG_NONE, &set_old_style,
      N_("Set PROPERTY to VALUE (the old “qvm-prefs VM -s PROP VALUE” form)"), NULL },
    { "default", 'D', 0, G_OPTION_ARG_NONE, &reset, N_("Reset PROPERTY to its default"), NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      N_("Accept a MAC address another VM uses (only one of them may run at a time)"), NULL },
    { "hide-default", 0, 0, G_OPTION_ARG_NONE, &hide_default,
      N_("When listing, leave out properties at their default"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("VMNAME [PROPERTY [VALUE]]"),
                          _("List, show, set or reset a VM’s properties (Qubes: qvm-prefs)."),
                          entries);
  g_autoptr(GPtrArray) prefs = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(TsrCli) cli = { 0 };
  TsrVm *vm;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  if (argc < 2 || argc > 4 || (reset && argc != 3) || (set_old_style && argc != 4))
    {
      g_printerr (_("Usage: qvm-prefs VMNAME [PROPERTY [VALUE]] | qvm-prefs -D VMNAME PROPERTY. "
                    "Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (argc >= 3 && !tsr_pref_is_known (argv[2]))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) tsr_pref_names);

      g_printerr (_("No property “%s”. Properties: %s.\n"), argv[2], known);
      return TSR_CLI_EXIT_USAGE;
    }

  if (!tsr_cli_open (&cli))
    return TSR_CLI_EXIT_FAILED;
  vm = tsr_cli_lookup_vm (&cli, argv[1]);
  if (vm == NULL)
    return TSR_CLI_EXIT_USAGE;

  if (argc == 4 || reset)
    return write_pref (&cli, vm, argv[2], reset ? NULL : argv[3], force);

  tsr_connection_get_prefs_async (cli.conn, vm, NULL, tsr_cli_async_cb, &cli);
  prefs = tsr_connection_get_prefs_finish (cli.conn, tsr_cli_wait (&cli), &error);
  if (prefs == NULL)
    return tsr_cli_report_error (error);

  print_prefs (prefs, argc == 3 ? argv[2] : NULL, hide_default);
  return TSR_CLI_EXIT_OK;
}
