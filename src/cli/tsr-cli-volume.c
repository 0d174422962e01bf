/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-settings.h"
#include "tsr-template.h"

/* qvm-volume [list] [VM…] and qvm-volume revert VM:VOLUME, as in Qubes. */

static int
list_volumes (TsrCli  *cli,
              char   **names,
              int      n_names)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_volume_row_free);
  g_autoptr(GError) error = NULL;
  gsize width = strlen ("POOL:VOLUME"), vm_width = strlen ("VMNAME");

  for (int i = 0; i < MAX (n_names, 1); i++)
    {
      TsrVm *vm = NULL;
      GPtrArray *some;

      if (n_names > 0 && (vm = tsr_cli_lookup_vm (cli, names[i])) == NULL)
        return TSR_CLI_EXIT_USAGE;
      tsr_connection_list_volumes_async (cli->conn, vm, NULL, tsr_cli_async_cb, cli);
      if (!(some = tsr_connection_list_volumes_finish (cli->conn, tsr_cli_wait (cli), &error)))
        return tsr_cli_report_error (error);
      g_ptr_array_set_free_func (some, NULL);
      g_ptr_array_extend_and_steal (rows, some);
    }

  for (guint i = 0; i < rows->len; i++)
    {
      TsrVolumeRow *row = g_ptr_array_index (rows, i);

      width = MAX (width, strlen (row->pool) + 1 + strlen (row->volume));
      vm_width = MAX (vm_width, strlen (row->vm));
    }
  g_print ("%-*s  %-*s  %-11s  %s\n", (int) width, "POOL:VOLUME", (int) vm_width, "VMNAME",
           "VOLUME_NAME", "REVERT_POSSIBLE");
  for (guint i = 0; i < rows->len; i++)
    {
      TsrVolumeRow *row = g_ptr_array_index (rows, i);
      g_autofree char *id = g_strdup_printf ("%s:%s", row->pool, row->volume);
      g_autofree char *shown = tsr_cli_printable (id);

      g_print ("%-*s  %-*s  %-11s  %s\n", (int) width, shown, (int) vm_width, row->vm, row->name,
               row->revert_possible ? "Yes" : "No");
    }
  return TSR_CLI_EXIT_OK;
}

static int
revert_volume (TsrCli     *cli,
               const char *spec)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) parts = g_strsplit (spec, ":", 2);
  guint revision = 0;
  TsrVm *vm;

  if (parts[0] == NULL || parts[1] == NULL || *parts[0] == '\0' || *parts[1] == '\0')
    {
      g_printerr (_("Give the volume as VMNAME:VOLUME, e.g. %s:root.\n"),
                  parts[0] && *parts[0] ? parts[0] : "my-template");
      return TSR_CLI_EXIT_USAGE;
    }
  if (!tsr_cli_open (cli))
    return TSR_CLI_EXIT_FAILED;
  if ((vm = tsr_cli_lookup_vm (cli, parts[0])) == NULL)
    return TSR_CLI_EXIT_USAGE;
  tsr_connection_revert_volume_async (cli->conn, vm, parts[1], NULL, tsr_cli_async_cb, cli);
  if (!tsr_connection_revert_volume_finish (cli->conn, tsr_cli_wait (cli), &revision, &error))
    return tsr_cli_report_error (error);
  g_printerr (_("“%s” is back at revision %u of its root; its AppVMs boot it at their next "
                "start.\n"), parts[0], revision);
  return TSR_CLI_EXIT_OK;
}

int
tsr_cli_volume (int    argc,
                char **argv)
{
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("[list [VMNAME…] | revert VMNAME:VOLUME]"),
                          _("List the VMs’ volumes, or take a TemplateVM’s root back one "
                            "revision (Qubes: qvm-volume)."), NULL);
  g_auto(TsrCli) cli = { 0 };
  const char *action;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  action = argc > 1 ? argv[1] : "list";
  if (g_str_equal (action, "list") || g_str_equal (action, "ls"))
    {
      if (!tsr_cli_open (&cli))
        return TSR_CLI_EXIT_FAILED;
      return list_volumes (&cli, argc > 2 ? argv + 2 : NULL, MAX (argc - 2, 0));
    }
  if (g_str_equal (action, "revert") && argc == 3)
    return revert_volume (&cli, argv[2]);

  g_printerr (_("Usage: qvm-volume [list [VMNAME…]] | qvm-volume revert VMNAME:VOLUME\n"));
  return TSR_CLI_EXIT_USAGE;
}
