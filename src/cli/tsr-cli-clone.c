/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-cloner.h"
#include "tsr-error.h"

/* qvm-clone SRC DST, as in Qubes, plus --linked, --keep-mac and a progress
 * line; Ctrl+C cancels and leaves nothing behind.
 */

int
tsr_cli_clone (int    argc,
               char **argv)
{
  g_autofree char *pool = NULL;
  gboolean linked = FALSE, keep_mac = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "linked", 0, 0, G_OPTION_ARG_NONE, &linked,
      N_("Linked clone: the source’s disks become a shared read-only base, and both VMs get "
         "a copy-on-write overlay on it (instant, uses no space up front)"), NULL },
    { "keep-mac", 0, 0, G_OPTION_ARG_NONE, &keep_mac,
      N_("Keep the source’s MAC addresses, and so its IP addresses (only one of the two VMs "
         "can then be on the network at a time)"), NULL },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &pool,
      N_("Storage pool for the clone’s disks (default: the pool of each source disk)"),
      N_("POOL") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("SRC DST"), _("Clone a virtual machine (Qubes: qvm-clone): same "
                                         "disks and settings, new UUID, MAC and IP address."),
                          entries);
  g_autoptr(TsrCloneSpec) spec = NULL;
  g_auto(TsrCliJob) job = { 0 };
  TsrVm *source;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  if (argc != 3)
    {
      if (argc == 2)
        g_printerr (_("Name the clone too, for example “qvm-clone %s %s-clone-1”.\n"), argv[1],
                    argv[1]);
      else
        g_printerr (_("Give the VM to clone and the name of the clone. Run with --help to see "
                      "the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (!tsr_cli_open (&job.cli))
    return TSR_CLI_EXIT_FAILED;
  source = tsr_cli_lookup_vm (&job.cli, argv[1]);
  if (source == NULL)
    return TSR_CLI_EXIT_USAGE;

  spec = tsr_clone_spec_new (argv[2]);
  spec->linked = linked;
  spec->keep_mac = keep_mac;
  spec->pool = g_strdup (pool);

  tsr_cli_job_init (&job, quiet);
  tsr_connection_clone_vm_async (job.cli.conn, source, spec, tsr_cli_job_progress_cb, &job,
                                 job.cancellable, tsr_cli_async_cb, &job.cli);
  job.name = tsr_connection_clone_vm_finish (job.cli.conn, tsr_cli_job_wait (&job), &job.note,
                                             &job.error);
  if (g_error_matches (job.error, TSR_ERROR, TSR_ERROR_VM_RUNNING))
    {
      int status = tsr_cli_job_report (&job, NULL);

      g_printerr (_("Shut it down with “qvm-shutdown --wait %s”, then clone it again.\n"),
                  argv[1]);
      return status;
    }
  return tsr_cli_job_report (&job, _("Warning: %s\n"));
}
