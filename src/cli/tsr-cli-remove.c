/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-recover.h"
#include "tsr-remover.h"

/* qvm-remove and tessera-cli repair. */

static gboolean
confirm (TsrCli    *cli,
         GPtrArray *vms)
{
  char answer[16] = { 0 };

  for (guint i = 0; i < vms->len; i++)
    {
      g_autoptr(TsrRemovalPlan) plan = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      tsr_connection_plan_removal_async (cli->conn, g_ptr_array_index (vms, i), NULL,
                                         tsr_cli_async_cb, cli);
      plan = tsr_connection_plan_removal_finish (cli->conn, tsr_cli_wait (cli), &error);
      if (plan == NULL)
        {
          g_printerr ("%s\n", error->message);
          continue;
        }
      text = tsr_removal_plan_describe (plan);
      g_print ("%s", text);
    }
  g_print (_("Are you sure? [y/N] "));
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

static void
report_removed (const TsrRemovalPlan *plan)
{
  g_autofree char *freed = g_format_size_full (plan->total_bytes, G_FORMAT_SIZE_IEC_UNITS);
  g_autoptr(GString) extra = g_string_new (NULL);

  for (guint i = 0; i < plan->addresses->len; i++)
    {
      TsrRemovalAddress *a = g_ptr_array_index (plan->addresses, i);

      g_string_append_printf (extra, _(", address %s released"), a->ip);
    }
  g_print (ngettext ("Removed “%s”: %u volume, %s%s\n", "Removed “%s”: %u volumes, %s%s\n",
                     plan->volumes->len),
           plan->vm_name, plan->volumes->len, freed, extra->str);
  for (guint i = 0; i < plan->files->len; i++)
    {
      TsrRemovalItem *item = g_ptr_array_index (plan->files, i);

      if (item->why_kept != NULL)
        g_printerr (_("Note: %s was kept (%s); ask your administrator to delete it.\n"),
                    item->path, item->why_kept);
    }
}

int
tsr_cli_remove (int    argc,
                char **argv)
{
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, N_("Do not ask for confirmation"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("VMNAME…"),
                          _("Remove virtual machines with their own disks, UEFI variables, TPM "
                            "state, snapshots and address reservations. Install media, shared "
                            "disks and linked-clone bases other VMs still use are kept."),
                          entries);
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(TsrCli) cli = { 0 };

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;
  if (argc < 2)
    {
      g_printerr (_("Name at least one VM. Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (!force && !isatty (STDIN_FILENO))
    {
      g_printerr (_("Not asking for confirmation without a terminal: add --force to remove "
                    "without asking.\n"));
      return TSR_CLI_EXIT_USAGE;
    }

  if (!tsr_cli_open (&cli))
    return TSR_CLI_EXIT_FAILED;
  for (int a = 1; a < argc; a++)
    {
      TsrVm *vm = tsr_cli_lookup_vm (&cli, argv[a]);

      if (vm == NULL)
        return TSR_CLI_EXIT_USAGE;
      g_ptr_array_add (vms, g_object_ref (vm));
    }

  if (!force && !confirm (&cli, vms))
    {
      g_printerr (_("Nothing was removed.\n"));
      return TSR_CLI_EXIT_FAILED;
    }

  for (guint i = 0; i < vms->len; i++)
    {
      g_autoptr(TsrRemovalPlan) plan = NULL;
      g_autoptr(GError) error = NULL;

      tsr_connection_remove_vm_async (cli.conn, g_ptr_array_index (vms, i), NULL,
                                      tsr_cli_async_cb, &cli);
      plan = tsr_connection_remove_vm_finish (cli.conn, tsr_cli_wait (&cli), &error);
      if (plan == NULL)
        {
          int status = tsr_cli_report_error (error);

          if (cli.status == TSR_CLI_EXIT_OK)
            cli.status = status;
          continue;
        }
      report_removed (plan);
    }

  return cli.status;
}

int
tsr_cli_repair (int    argc,
                char **argv)
{
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (NULL,
                          _("Finish operations a crash interrupted, and release address "
                            "reservations no VM has any more. Prints each thing it fixed."),
                          NULL);
  g_auto(TsrCli) cli = { 0 };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  const char * const *recovered;
  guint n = 0;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;
  if (argc > 1)
    {
      g_printerr (_("repair takes no arguments.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (!tsr_cli_open (&cli))
    return TSR_CLI_EXIT_FAILED;

  /* What opening recovered was printed already; it counts. */
  recovered = tsr_connection_get_recovered (cli.conn);
  n = recovered ? g_strv_length ((GStrv) recovered) : 0;

  tsr_connection_repair_async (cli.conn, NULL, tsr_cli_async_cb, &cli);
  lines = tsr_connection_repair_finish (cli.conn, tsr_cli_wait (&cli), &error);
  if (lines == NULL)
    return tsr_cli_report_error (error);
  for (guint i = 0; lines[i] != NULL; i++, n++)
    g_print ("%s\n", lines[i]);
  if (n == 0)
    g_print (_("Nothing needed repair on %s.\n"), tsr_connection_get_uri (cli.conn));
  return TSR_CLI_EXIT_OK;
}
