/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-error.h"
#include "tsr-settings.h"

/* qvm-prefs and qvm-pci */

static void
prefs_read_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Cli *cli = user_data;
  GPtrArray **out = g_object_get_data (G_OBJECT (cli->conn), "tsr-cli-prefs");

  *out = tsr_connection_get_prefs_finish (TSR_CONNECTION (object), result, &cli->error);
  g_main_loop_quit (cli->loop);
}

static GPtrArray *
read_prefs (Cli   *cli,
            TsrVm *vm)
{
  GPtrArray *prefs = NULL;

  g_object_set_data (G_OBJECT (cli->conn), "tsr-cli-prefs", &prefs);
  tsr_connection_get_prefs_async (cli->conn, vm, NULL, prefs_read_cb, cli);
  g_main_loop_run (cli->loop);
  return prefs;
}

typedef struct
{
  Cli   *cli;
  char  *next_start;
  char  *warning;
  gboolean ok;
} WriteCall;

static void
prefs_written_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  WriteCall *call = user_data;

  call->ok = tsr_connection_set_prefs_finish (TSR_CONNECTION (object), result, &call->next_start,
                                              &call->warning, &call->cli->error);
  g_main_loop_quit (call->cli->loop);
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
    make_context (_("VMNAME [PROPERTY [VALUE]]"),
                  _("List, show, set or reset a VM’s properties (Qubes: qvm-prefs)."), entries);
  g_autoptr(GPtrArray) prefs = NULL;
  Cli cli = { 0 };
  TsrVm *vm;
  int status = EXIT_OK;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  if (argc < 2 || argc > 4 || (reset && argc != 3) || (set_old_style && argc != 4))
    {
      g_printerr (_("Usage: qvm-prefs VMNAME [PROPERTY [VALUE]] | qvm-prefs -D VMNAME PROPERTY. "
                    "Run with --help to see the options.\n"));
      return EXIT_USAGE;
    }
  if (argc >= 3 && !tsr_pref_is_known (argv[2]))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) tsr_pref_names);

      g_printerr (_("No property “%s”. Properties: %s.\n"), argv[2], known);
      return EXIT_USAGE;
    }

  if (!cli_open (&cli))
    {
      cli_clear (&cli);
      return EXIT_FAILED;
    }

  vm = tsr_connection_lookup_vm (cli.conn, argv[1]);
  if (vm == NULL)
    {
      g_printerr (_("No VM named “%s” on %s. Run “qvm-ls” to see the VMs.\n"), argv[1],
                  tsr_connection_get_uri (cli.conn));
      cli_clear (&cli);
      return EXIT_USAGE;
    }

  if (argc == 4 || reset)
    {
      g_autoptr(GHashTable) changes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      WriteCall call = { &cli, NULL, NULL, FALSE };

      g_hash_table_insert (changes, g_strdup (argv[2]), reset ? NULL : g_strdup (argv[3]));
      tsr_connection_set_prefs_async (cli.conn, vm, changes,
                                      force ? TSR_PREFS_FORCE_MAC : TSR_PREFS_NONE, NULL,
                                      prefs_written_cb, &call);
      g_main_loop_run (cli.loop);

      if (!call.ok)
        {
          g_printerr ("%s\n", cli.error->message);
          status = exit_code_for (cli.error);
        }
      else
        {
          if (call.warning != NULL)
            g_printerr (_("Warning: %s\n"), call.warning);
          if (call.next_start != NULL)
            g_printerr (_("Takes effect at the next start: %s.\n"), call.next_start);
        }
      g_free (call.next_start);
      g_free (call.warning);
      cli_clear (&cli);
      return status;
    }

  prefs = read_prefs (&cli, vm);
  if (prefs == NULL)
    {
      g_printerr ("%s\n", cli.error->message);
      status = exit_code_for (cli.error);
      cli_clear (&cli);
      return status;
    }

  if (argc == 3)
    {
      for (guint i = 0; i < prefs->len; i++)
        {
          TsrPref *pref = g_ptr_array_index (prefs, i);

          if (g_str_equal (pref->name, argv[2]))
            g_print ("%s\n", pref->value);
        }
    }
  else
    {
      gsize width = 0;

      for (guint i = 0; i < prefs->len; i++)
        width = MAX (width, strlen (((TsrPref *) g_ptr_array_index (prefs, i))->name));

      /* As Qubes: name, D for a default value or - for a set one, value. */
      for (guint i = 0; i < prefs->len; i++)
        {
          TsrPref *pref = g_ptr_array_index (prefs, i);

          if (hide_default && pref->is_default)
            continue;
          g_print ("%-*s  %s  %s\n", (int) width, pref->name, pref->is_default ? "D" : "-",
                   pref->value);
        }
    }

  cli_clear (&cli);
  return status;
}

static void
pci_listed_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  Cli *cli = user_data;
  GPtrArray **out = g_object_get_data (G_OBJECT (cli->conn), "tsr-cli-pci");

  *out = tsr_connection_list_pci_finish (TSR_CONNECTION (object), result, &cli->error);
  g_main_loop_quit (cli->loop);
}

static void
pci_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Cli *cli = user_data;

  if (!tsr_connection_pci_attach_finish (TSR_CONNECTION (object), result, &cli->error))
    cli->status = exit_code_for (cli->error);
  g_main_loop_quit (cli->loop);
}

int
tsr_cli_pci (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context =
    make_context (_("[ls | attach VMNAME DEVICE | detach VMNAME DEVICE]"),
                  _("List the host’s PCI devices, or assign one to a VM (Qubes: qvm-pci). "
                    "DEVICE is dom0:BB_SS.F (as Qubes writes it), 0000:BB:SS.F or a libvirt "
                    "node device name."), NULL);
  const char *action;
  Cli cli = { 0 };
  int status;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  action = argc > 1 ? argv[1] : "ls";
  if ((g_str_equal (action, "ls") || g_str_equal (action, "list")) && argc <= 2)
    {
      g_autoptr(GPtrArray) devices = NULL;

      if (!cli_open (&cli))
        {
          cli_clear (&cli);
          return EXIT_FAILED;
        }
      g_object_set_data (G_OBJECT (cli.conn), "tsr-cli-pci", &devices);
      tsr_connection_list_pci_async (cli.conn, NULL, pci_listed_cb, &cli);
      g_main_loop_run (cli.loop);
      if (devices == NULL)
        {
          g_printerr ("%s\n", cli.error->message);
          cli_clear (&cli);
          return EXIT_FAILED;
        }
      g_print ("%-14s  %-40s  %s\n", "BACKEND:DEVID", "DESCRIPTION", "USED BY");
      for (guint i = 0; i < devices->len; i++)
        {
          TsrPciDevice *dev = g_ptr_array_index (devices, i);

          g_print ("%-14s  %-40.40s  %s\n", dev->qubes_id, dev->description,
                   dev->assigned_to ? dev->assigned_to : "");
        }
      cli_clear (&cli);
      return EXIT_OK;
    }

  if ((g_str_equal (action, "attach") || g_str_equal (action, "a") ||
       g_str_equal (action, "detach") || g_str_equal (action, "d")) && argc == 4)
    {
      TsrVm *vm;

      if (!cli_open (&cli))
        {
          cli_clear (&cli);
          return EXIT_FAILED;
        }
      vm = tsr_connection_lookup_vm (cli.conn, argv[2]);
      if (vm == NULL)
        {
          g_printerr (_("No VM named “%s”. Run “qvm-ls” to see the VMs.\n"), argv[2]);
          cli_clear (&cli);
          return EXIT_USAGE;
        }
      tsr_connection_pci_attach_async (cli.conn, vm, argv[3], action[0] == 'a', NULL,
                                       pci_done_cb, &cli);
      g_main_loop_run (cli.loop);
      if (cli.error != NULL)
        g_printerr ("%s\n", cli.error->message);
      status = cli.status;
      cli_clear (&cli);
      return status;
    }

  g_printerr (_("Usage: qvm-pci [ls] | qvm-pci attach VMNAME DEVICE | qvm-pci detach VMNAME "
                "DEVICE\n"));
  return EXIT_USAGE;
}
