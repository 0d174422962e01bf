/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cli-private.h"

/* qvm-start, qvm-shutdown and qvm-kill: the VMs named are handled at the
 * same time, and the exit code is the first failure's.
 */

typedef enum
{
  OP_START,
  OP_SHUTDOWN,
  OP_KILL,
} Op;

typedef struct
{
  TsrCli *cli;
  TsrVm  *vm;
} OpCall;

static void
op_done_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  OpCall *call = user_data;
  TsrCli *cli = call->cli;
  TsrConnection *conn = TSR_CONNECTION (object);
  g_autoptr(GError) error = NULL;
  gboolean ok;
  gpointer tag = g_task_get_source_tag (G_TASK (result));

  if (tag == tsr_connection_start_vm_with_media_async)
    ok = tsr_connection_start_vm_with_media_finish (conn, result, &error);
  else if (tag == tsr_connection_start_vm_async)
    ok = tsr_connection_start_vm_finish (conn, result, &error);
  else if (tag == tsr_connection_shutdown_vm_async)
    ok = tsr_connection_shutdown_vm_finish (conn, result, &error);
  else
    ok = tsr_connection_force_off_vm_finish (conn, result, &error);

  if (!ok)
    {
      int status = tsr_cli_report_error (error);

      if (cli->status == TSR_CLI_EXIT_OK)
        cli->status = status;
      /* Waiting is pointless for a VM whose shutdown was refused. */
      g_object_set_data (G_OBJECT (call->vm), "tsr-cli-failed", GINT_TO_POINTER (1));
    }

  g_object_unref (call->vm);
  g_free (call);
  cli->pending--;
}

static gboolean
all_stopped (GPtrArray *vms)
{
  for (guint i = 0; i < vms->len; i++)
    {
      TsrVm *vm = g_ptr_array_index (vms, i);

      if (tsr_vm_is_active (vm) && g_object_get_data (G_OBJECT (vm), "tsr-cli-failed") == NULL)
        return FALSE;
    }

  return TRUE;
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* The VMs named on the command line, and with ALL every running one. */
static GPtrArray *
collect_vms (TsrCli    *cli,
             int        argc,
             char     **argv,
             gboolean   all)
{
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);

  for (int a = 1; a < argc; a++)
    {
      TsrVm *vm = tsr_cli_lookup_vm (cli, argv[a]);

      if (vm == NULL)
        return NULL;
      g_ptr_array_add (vms, g_object_ref (vm));
    }

  if (all)
    {
      GListModel *model = tsr_connection_get_vms (cli->conn);

      for (guint i = 0; i < g_list_model_get_n_items (model); i++)
        {
          g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

          if (tsr_vm_is_active (vm) && !g_ptr_array_find (vms, vm, NULL))
            g_ptr_array_add (vms, g_steal_pointer (&vm));
        }
    }

  return g_steal_pointer (&vms);
}

/* With JOB (a start with install media), its progress line and its
 * cancel (Ctrl+C) serve the media's preparation: a copy out of another VM
 * takes a while.
 */
static void
run_op (TsrCli     *cli,
        Op          op,
        GPtrArray  *vms,
        const char *cdrom,
        TsrCliJob  *job)
{
  for (guint i = 0; i < vms->len; i++)
    {
      TsrVm *vm = g_ptr_array_index (vms, i);
      OpCall *call = g_new0 (OpCall, 1);

      call->cli = cli;
      call->vm = g_object_ref (vm);
      cli->pending++;
      if (op == OP_START && cdrom != NULL)
        tsr_connection_start_vm_with_media_full_async (cli->conn, vm, cdrom,
                                                       job ? tsr_cli_job_progress_cb : NULL, job,
                                                       job ? job->cancellable : NULL,
                                                       op_done_cb, call);
      else if (op == OP_START)
        tsr_connection_start_vm_async (cli->conn, vm, NULL, op_done_cb, call);
      else if (op == OP_SHUTDOWN)
        tsr_connection_shutdown_vm_async (cli->conn, vm, NULL, op_done_cb, call);
      else
        tsr_connection_force_off_vm_async (cli->conn, vm, NULL, op_done_cb, call);
    }

  while (cli->pending > 0)
    g_main_context_iteration (NULL, TRUE);
  if (job != NULL)
    tsr_cli_job_end_line (job);
}

/* The VMs' state follows libvirt's events, which arrive while the main
 * context iterates.
 */
static void
wait_stopped (TsrCli    *cli,
              GPtrArray *vms,
              int        timeout)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (timeout, wait_timeout_cb, &timed_out);

  while (!all_stopped (vms) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (!timed_out)
    g_source_remove (timeout_id);

  for (guint i = 0; timed_out && i < vms->len; i++)
    {
      TsrVm *vm = g_ptr_array_index (vms, i);

      if (tsr_vm_is_active (vm))
        {
          g_printerr (_("“%s” did not shut down within %d s. Force it off with "
                        "“qvm-kill %s”.\n"), tsr_vm_get_name (vm), timeout,
                      tsr_vm_get_name (vm));
          cli->status = TSR_CLI_EXIT_FAILED;
        }
    }
}

/* qvm-start --dispvm TEMPLATE: a new DisposableVM dispNNNN of TEMPLATE,
 * started; it is removed when it stops.
 */
static int
start_dispvm (TsrCli     *cli,
              const char *template_name)
{
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *made = NULL;
  TsrVm *vm;

  for (guint attempt = 0; attempt < 100 && name == NULL; attempt++)
    {
      g_autofree char *candidate = g_strdup_printf ("disp%u", g_random_int_range (1, 10000));

      if (tsr_connection_lookup_vm (cli->conn, candidate) == NULL)
        name = g_steal_pointer (&candidate);
    }
  spec = tsr_create_spec_new (name);
  tsr_cli_replace_string (&spec->klass, "DispVM");
  tsr_cli_replace_string (&spec->template_name, template_name);
  tsr_cli_replace_string (&spec->label, "red");
  tsr_connection_create_vm_async (cli->conn, spec, NULL, NULL, NULL, tsr_cli_async_cb, cli);
  made = tsr_connection_create_vm_finish (cli->conn, tsr_cli_wait (cli), NULL, &error);
  if (made == NULL)
    return tsr_cli_report_error (error);

  /* The list hears of the new domain by its event. */
  while ((vm = tsr_connection_lookup_vm (cli->conn, made)) == NULL)
    g_main_context_iteration (NULL, TRUE);
  tsr_connection_start_vm_async (cli->conn, vm, NULL, tsr_cli_async_cb, cli);
  if (!tsr_connection_start_vm_finish (cli->conn, tsr_cli_wait (cli), &error))
    return tsr_cli_report_error (error);
  g_print ("%s\n", made);
  return TSR_CLI_EXIT_OK;
}

static int
lifecycle (Op     op,
           int    argc,
           char **argv)
{
  gboolean wait = FALSE, all = FALSE;
  g_autofree char *cdrom = NULL;
  g_autofree char *dispvm = NULL;
  int timeout = 60;
  const GOptionEntry start_entries[] = {
    { "cdrom", 0, 0, G_OPTION_ARG_STRING, &cdrom,
      N_("Boot once from install media: /dev/cdrom, dom0:/path.iso, /path.iso, POOL:VOLUME "
         "or VM:/path.iso (inside another running VM)"),
      N_("SOURCE") },
    { "dispvm", 0, 0, G_OPTION_ARG_STRING, &dispvm,
      N_("Start a new DisposableVM of TEMPLATE (removed when it stops); prints its name"),
      N_("TEMPLATE") },
    { NULL }
  };
  const GOptionEntry shutdown_entries[] = {
    { "wait", 0, 0, G_OPTION_ARG_NONE, &wait, N_("Wait until the VMs have shut down"), NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout,
      N_("With --wait, give up after SECONDS (default 60)"), N_("SECONDS") },
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_("All running VMs"), NULL },
    { NULL }
  };
  const char *summaries[] = {
    N_("Start virtual machines."),
    N_("Shut virtual machines down cleanly (ACPI power button)."),
    N_("Force virtual machines off at once, like pulling the power plug."),
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("VMNAME…"), _(summaries[op]),
                          op == OP_SHUTDOWN ? shutdown_entries
                          : op == OP_START ? start_entries : NULL);
  g_autoptr(GPtrArray) vms = NULL;
  g_auto(TsrCliJob) job = { 0 };
  TsrCli *cli = &job.cli;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  if (dispvm != NULL)
    {
      if (argc > 1 || cdrom != NULL)
        {
          g_printerr (_("--dispvm starts a new VM: name no VM and no --cdrom with it.\n"));
          return TSR_CLI_EXIT_USAGE;
        }
      if (!tsr_cli_open (cli))
        return TSR_CLI_EXIT_FAILED;
      return start_dispvm (cli, dispvm);
    }
  if (argc < 2 && !all)
    {
      g_printerr (_("Name at least one VM. Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (timeout <= 0)
    {
      g_printerr (_("--timeout must be a positive number of seconds.\n"));
      return TSR_CLI_EXIT_USAGE;
    }

  if (!tsr_cli_open (cli))
    return TSR_CLI_EXIT_FAILED;
  vms = collect_vms (cli, argc, argv, all);
  if (vms == NULL)
    return TSR_CLI_EXIT_USAGE;

  /* Only a start with media is a job: Ctrl+C elsewhere stops the command. */
  if (op == OP_START && cdrom != NULL)
    tsr_cli_job_init (&job, FALSE);
  run_op (cli, op, vms, cdrom, op == OP_START && cdrom != NULL ? &job : NULL);
  if (op == OP_SHUTDOWN && wait)
    wait_stopped (cli, vms, timeout);

  return cli->status;
}

int
tsr_cli_start (int    argc,
               char **argv)
{
  return lifecycle (OP_START, argc, argv);
}

int
tsr_cli_shutdown (int    argc,
                  char **argv)
{
  return lifecycle (OP_SHUTDOWN, argc, argv);
}

int
tsr_cli_kill (int    argc,
              char **argv)
{
  return lifecycle (OP_KILL, argc, argv);
}
