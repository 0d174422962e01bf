/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-settings.h"

/* qvm-pci [ls], qvm-pci attach VM DEVICE and qvm-pci detach VM DEVICE. */

static int
list_devices (TsrCli *cli)
{
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_list_pci_async (cli->conn, NULL, tsr_cli_async_cb, cli);
  devices = tsr_connection_list_pci_finish (cli->conn, tsr_cli_wait (cli), &error);
  if (devices == NULL)
    {
      g_printerr ("%s\n", error->message);
      return TSR_CLI_EXIT_FAILED;
    }

  g_print ("%-14s  %-40s  %s\n", "BACKEND:DEVID", "DESCRIPTION", "USED BY");
  for (guint i = 0; i < devices->len; i++)
    {
      TsrPciDevice *dev = g_ptr_array_index (devices, i);

      g_print ("%-14s  %-40.40s  %s\n", dev->qubes_id, dev->description,
               dev->assigned_to ? dev->assigned_to : "");
    }
  return TSR_CLI_EXIT_OK;
}

static int
attach_device (TsrCli     *cli,
               const char *vm_name,
               const char *device,
               gboolean    attach)
{
  g_autoptr(GError) error = NULL;
  TsrVm *vm = tsr_cli_lookup_vm (cli, vm_name);

  if (vm == NULL)
    return TSR_CLI_EXIT_USAGE;

  tsr_connection_pci_attach_async (cli->conn, vm, device, attach, NULL, tsr_cli_async_cb, cli);
  if (!tsr_connection_pci_attach_finish (cli->conn, tsr_cli_wait (cli), &error))
    return tsr_cli_report_error (error);
  return TSR_CLI_EXIT_OK;
}

int
tsr_cli_pci (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("[ls | attach VMNAME DEVICE | detach VMNAME DEVICE]"),
                          _("List the host’s PCI devices, or assign one to a VM (Qubes: qvm-pci). "
                            "DEVICE is dom0:BB_SS.F (as Qubes writes it), 0000:BB:SS.F or a "
                            "libvirt node device name."), NULL);
  g_auto(TsrCli) cli = { 0 };
  const char *action;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  action = argc > 1 ? argv[1] : "ls";
  if ((g_str_equal (action, "ls") || g_str_equal (action, "list")) && argc <= 2)
    {
      if (!tsr_cli_open (&cli))
        return TSR_CLI_EXIT_FAILED;
      return list_devices (&cli);
    }

  if ((g_str_equal (action, "attach") || g_str_equal (action, "a") ||
       g_str_equal (action, "detach") || g_str_equal (action, "d")) && argc == 4)
    {
      if (!tsr_cli_open (&cli))
        return TSR_CLI_EXIT_FAILED;
      return attach_device (&cli, argv[2], argv[3], action[0] == 'a');
    }

  g_printerr (_("Usage: qvm-pci [ls] | qvm-pci attach VMNAME DEVICE | qvm-pci detach VMNAME "
                "DEVICE\n"));
  return TSR_CLI_EXIT_USAGE;
}
