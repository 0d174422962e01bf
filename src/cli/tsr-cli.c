/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "tsr-cli.h"
#include "tsr-cli-private.h"
#include "tsr-connection.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-import.h"

int tsr_cli_clone (int argc, char **argv);  /* tsr-cli-clone.c */
int tsr_cli_import (int argc, char **argv);  /* tsr-cli-import.c */

static char *opt_connect = NULL;

/* Bad input (a name, a value, something that does not exist) is exit code
 * 2; anything that failed while doing the work is 1.
 */
int
exit_code_for (const GError *error)
{
  if (error->domain == TSR_ERROR)
    {
      switch (error->code)
        {
        case TSR_ERROR_INVALID_NAME:
        case TSR_ERROR_NAME_IN_USE:
        case TSR_ERROR_INVALID_MAC:
        case TSR_ERROR_MAC_IN_USE:
        case TSR_ERROR_INVALID_VALUE:
        case TSR_ERROR_MEDIA_NOT_FOUND:
        case TSR_ERROR_NOT_FOUND:
          return EXIT_USAGE;
        default:
          break;
        }
    }
  return EXIT_FAILED;
}

static const GOptionEntry common_entries[] = {
  { "connect", 'c', 0, G_OPTION_ARG_STRING, &opt_connect,
    N_("libvirt URI to manage (default: $TESSERA_URI or " TSR_DEFAULT_URI ")"), N_("URI") },
  { NULL }
};

static const char *
default_uri (void)
{
  const char *env = g_getenv ("TESSERA_URI");

  if (opt_connect != NULL)
    return opt_connect;
  if (env != NULL && *env != '\0')
    return env;
  return TSR_DEFAULT_URI;
}

static void
opened_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Cli *cli = user_data;

  if (!tsr_connection_open_finish (TSR_CONNECTION (object), result, &cli->error))
    cli->status = EXIT_FAILED;
  cli->done = TRUE;
  g_main_loop_quit (cli->loop);
}

gboolean
cli_open (Cli *cli)
{
  cli->loop = g_main_loop_new (NULL, FALSE);
  cli->conn = tsr_connection_new (default_uri ());
  cli->done = FALSE;
  tsr_connection_open_async (cli->conn, NULL, opened_cb, cli);
  if (!cli->done)
    g_main_loop_run (cli->loop);

  if (cli->error != NULL)
    {
      g_printerr ("%s\n", cli->error->message);
      return FALSE;
    }

  return TRUE;
}

void
cli_clear (Cli *cli)
{
  if (cli->conn != NULL)
    tsr_connection_close (cli->conn);
  g_clear_object (&cli->conn);
  g_clear_pointer (&cli->loop, g_main_loop_unref);
  g_clear_error (&cli->error);
}

GOptionContext *
make_context (const char         *parameter_string,
              const char         *summary,
              const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameter_string);

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  return context;
}

gboolean
parse_args (GOptionContext   *context,
            int              *argc,
            char           ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s\n", error->message);
      g_printerr (_("Run with --help to see the options.\n"));
      return FALSE;
    }

  return TRUE;
}

/* ls */

static const char *
qubes_state (TsrVm *vm)
{
  switch (tsr_vm_get_state (vm))
    {
    case TSR_VM_STATE_RUNNING: return "Running";
    case TSR_VM_STATE_PAUSED: return "Paused";
    case TSR_VM_STATE_SHUTTING_DOWN: return "Transient";
    case TSR_VM_STATE_SHUTOFF: return "Halted";
    case TSR_VM_STATE_CRASHED: return "Crashed";
    case TSR_VM_STATE_SUSPENDED: return "Suspended";
    case TSR_VM_STATE_UNKNOWN:
    default: return "Unknown";
    }
}

static const char * const known_fields[] = {
  "name", "state", "class", "label", "template", "netvm", "ip", "ipback", "gateway",
  "netmask", "mac", "virt_mode", "kernel", "memory", "maxmem", "vcpus", "uuid", NULL
};

static char *
field_text (TsrVm      *vm,
            const char *field)
{
  char *text;

  if (strcmp (field, "state") == 0)
    return g_strdup (qubes_state (vm));
  if (strcmp (field, "ipback") == 0)
    return g_strdup ("-");
  if (strcmp (field, "kernel") == 0)
    {
      const char *kernel = tsr_vm_get_kernel (vm);

      return g_strdup (kernel && *kernel ? kernel : "-");
    }
  if (strcmp (field, "virt_mode") == 0)
    return g_strdup (tsr_vm_get_virt_mode (vm));

  text = tsr_vm_dup_field_text (vm, field);
  return text ? text : g_strdup ("-");
}

static int
compare_vm_names (gconstpointer a,
                  gconstpointer b)
{
  TsrVm *va = *(TsrVm **) a;
  TsrVm *vb = *(TsrVm **) b;

  return g_strcmp0 (tsr_vm_get_name (va), tsr_vm_get_name (vb));
}

static void
print_table (GPtrArray  *vms,
             char      **fields,
             gboolean    raw)
{
  guint n_fields = g_strv_length (fields);
  g_autofree gsize *widths = g_new0 (gsize, n_fields);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint f = 0; f < n_fields; f++)
    widths[f] = strlen (fields[f]);

  for (guint i = 0; i < vms->len; i++)
    {
      char **row = g_new0 (char *, n_fields + 1);

      for (guint f = 0; f < n_fields; f++)
        {
          row[f] = field_text (g_ptr_array_index (vms, i), fields[f]);
          widths[f] = MAX (widths[f], (gsize) g_utf8_strlen (row[f], -1));
        }
      g_ptr_array_add (rows, row);
    }

  if (!raw)
    {
      for (guint f = 0; f < n_fields; f++)
        {
          g_autofree char *upper = g_ascii_strup (fields[f], -1);

          if (f + 1 < n_fields)
            g_print ("%-*s  ", (int) widths[f], upper);
          else
            g_print ("%s\n", upper);
        }
    }

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);

      for (guint f = 0; f < n_fields; f++)
        {
          if (raw)
            g_print ("%s%s", row[f], f + 1 < n_fields ? "|" : "\n");
          else if (f + 1 < n_fields)
            g_print ("%-*s  ", (int) widths[f], row[f]);
          else
            g_print ("%s\n", row[f]);
        }
    }
}

static int
cmd_ls (int    argc,
        char **argv)
{
  gboolean network = FALSE, raw_data = FALSE, raw_list = FALSE;
  g_autofree char *format = NULL;
  g_autofree char *fields_opt = NULL;
  const GOptionEntry entries[] = {
    { "network", 'n', 0, G_OPTION_ARG_NONE, &network,
      N_("Show network addresses (NAME, STATE, NETVM, IP, IPBACK, GATEWAY, NETMASK)"), NULL },
    { "format", 'o', 0, G_OPTION_ARG_STRING, &format,
      N_("Column set: simple, network or full"), N_("FORMAT") },
    { "fields", 'O', 0, G_OPTION_ARG_STRING, &fields_opt,
      N_("Comma-separated columns, e.g. name,state,ip (see --help-fields)"), N_("FIELDS") },
    { "raw-data", 0, 0, G_OPTION_ARG_NONE, &raw_data,
      N_("No header or padding; columns separated by “|”"), NULL },
    { "raw-list", 0, 0, G_OPTION_ARG_NONE, &raw_list, N_("Only the names, one per line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (_("[VMNAME…]"), _("List virtual machines and their network addresses."), entries);
  g_auto(GStrv) fields = NULL;
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  Cli cli = { 0 };
  GListModel *model;
  int status = EXIT_OK;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  if (raw_list)
    fields = g_strsplit ("name", ",", -1);
  else if (fields_opt != NULL)
    fields = g_strsplit (fields_opt, ",", -1);
  else if (network || g_strcmp0 (format, "network") == 0)
    fields = g_strsplit ("name,state,netvm,ip,ipback,gateway,netmask", ",", -1);
  else if (format == NULL || g_strcmp0 (format, "simple") == 0)
    fields = g_strsplit ("name,state,class,label,template,netvm", ",", -1);
  else if (g_strcmp0 (format, "full") == 0)
    fields = g_strsplit ("name,state,class,label,template,netvm,virt_mode,kernel,memory,"
                         "maxmem,vcpus,ip,netmask,gateway,mac,uuid", ",", -1);
  else
    {
      g_printerr (_("Unknown format “%s”: use simple, network or full.\n"), format);
      return EXIT_USAGE;
    }

  for (guint f = 0; fields[f] != NULL; f++)
    {
      g_strstrip (fields[f]);
      for (char *p = fields[f]; *p; p++)
        *p = *p == '-' ? '_' : g_ascii_tolower (*p);
      if (!g_strv_contains (known_fields, fields[f]))
        {
          g_autofree char *known = g_strjoinv (", ", (char **) known_fields);

          g_printerr (_("Unknown field “%s”. Known fields: %s.\n"), fields[f], known);
          return EXIT_USAGE;
        }
    }

  if (!cli_open (&cli))
    {
      cli_clear (&cli);
      return EXIT_FAILED;
    }

  model = tsr_connection_get_vms (cli.conn);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (argc > 1 && !g_strv_contains ((const char * const *) argv + 1, tsr_vm_get_name (vm)))
        continue;
      g_ptr_array_add (vms, g_steal_pointer (&vm));
    }

  for (int a = 1; a < argc; a++)
    {
      if (tsr_connection_lookup_vm (cli.conn, argv[a]) == NULL)
        {
          g_printerr (_("No VM named “%s” on %s.\n"), argv[a], tsr_connection_get_uri (cli.conn));
          status = EXIT_USAGE;
        }
    }

  g_ptr_array_sort (vms, compare_vm_names);
  print_table (vms, fields, raw_data || raw_list);

  cli_clear (&cli);
  return status;
}

/* start, shutdown, kill */

typedef enum
{
  OP_START,
  OP_SHUTDOWN,
  OP_KILL,
} Op;

typedef struct
{
  Cli   *cli;
  TsrVm *vm;
} OpCall;

static void
op_done_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  OpCall *call = user_data;
  Cli *cli = call->cli;
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
      g_printerr ("%s\n", error->message);
      if (cli->status == EXIT_OK)
        cli->status = exit_code_for (error);
      /* Waiting is pointless for a VM whose shutdown was refused. */
      g_object_set_data (G_OBJECT (call->vm), "tsr-cli-failed", GINT_TO_POINTER (1));
    }

  g_object_unref (call->vm);
  g_free (call);
  if (--cli->pending == 0)
    g_main_loop_quit (cli->loop);
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

static void
vm_state_changed_cb (TsrVm      *vm,
                     GParamSpec *pspec,
                     Cli        *cli)
{
  g_main_loop_quit (cli->loop);
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

static int
cmd_lifecycle (Op     op,
               int    argc,
               char **argv)
{
  gboolean wait = FALSE, all = FALSE;
  g_autofree char *cdrom = NULL;
  int timeout = 60;
  const GOptionEntry start_entries[] = {
    { "cdrom", 0, 0, G_OPTION_ARG_STRING, &cdrom,
      N_("Boot once from install media: /dev/cdrom, dom0:/path.iso, /path.iso or POOL:VOLUME"),
      N_("SOURCE") },
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
    make_context (_("VMNAME…"), _(summaries[op]),
                  op == OP_SHUTDOWN ? shutdown_entries : op == OP_START ? start_entries : NULL);
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  Cli cli = { 0 };

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  if (argc < 2 && !all)
    {
      g_printerr (_("Name at least one VM. Run with --help to see the options.\n"));
      return EXIT_USAGE;
    }
  if (timeout <= 0)
    {
      g_printerr (_("--timeout must be a positive number of seconds.\n"));
      return EXIT_USAGE;
    }

  if (!cli_open (&cli))
    {
      cli_clear (&cli);
      return EXIT_FAILED;
    }

  for (int a = 1; a < argc; a++)
    {
      TsrVm *vm = tsr_connection_lookup_vm (cli.conn, argv[a]);

      if (vm == NULL)
        {
          g_printerr (_("No VM named “%s” on %s. Run “qvm-ls” to see the VMs.\n"), argv[a],
                      tsr_connection_get_uri (cli.conn));
          cli_clear (&cli);
          return EXIT_USAGE;
        }
      g_ptr_array_add (vms, g_object_ref (vm));
    }

  if (all)
    {
      GListModel *model = tsr_connection_get_vms (cli.conn);

      for (guint i = 0; i < g_list_model_get_n_items (model); i++)
        {
          g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

          if (tsr_vm_is_active (vm) && !g_ptr_array_find (vms, vm, NULL))
            g_ptr_array_add (vms, g_steal_pointer (&vm));
        }
    }

  for (guint i = 0; i < vms->len; i++)
    {
      TsrVm *vm = g_ptr_array_index (vms, i);
      OpCall *call = g_new0 (OpCall, 1);

      call->cli = &cli;
      call->vm = g_object_ref (vm);
      cli.pending++;
      if (op == OP_START && cdrom != NULL)
        tsr_connection_start_vm_with_media_async (cli.conn, vm, cdrom, NULL, op_done_cb, call);
      else if (op == OP_START)
        tsr_connection_start_vm_async (cli.conn, vm, NULL, op_done_cb, call);
      else if (op == OP_SHUTDOWN)
        tsr_connection_shutdown_vm_async (cli.conn, vm, NULL, op_done_cb, call);
      else
        tsr_connection_force_off_vm_async (cli.conn, vm, NULL, op_done_cb, call);
    }

  if (cli.pending > 0)
    g_main_loop_run (cli.loop);

  if (op == OP_SHUTDOWN && wait)
    {
      gboolean timed_out = FALSE;
      guint timeout_id = g_timeout_add_seconds (timeout, wait_timeout_cb, &timed_out);

      for (guint i = 0; i < vms->len; i++)
        g_signal_connect (g_ptr_array_index (vms, i), "notify::state",
                          G_CALLBACK (vm_state_changed_cb), &cli);

      while (!all_stopped (vms) && !timed_out)
        g_main_context_iteration (NULL, TRUE);

      if (!timed_out)
        g_source_remove (timeout_id);

      for (guint i = 0; i < vms->len; i++)
        {
          TsrVm *vm = g_ptr_array_index (vms, i);

          g_signal_handlers_disconnect_by_func (vm, vm_state_changed_cb, &cli);
          if (timed_out && tsr_vm_is_active (vm))
            {
              g_printerr (_("“%s” did not shut down within %d s. Force it off with "
                            "“qvm-kill %s”.\n"), tsr_vm_get_name (vm), timeout,
                          tsr_vm_get_name (vm));
              cli.status = EXIT_FAILED;
            }
        }
    }

  {
    int status = cli.status;

    cli_clear (&cli);
    return status;
  }
}

/* create */

typedef struct
{
  Cli      *cli;
  gboolean  tty;
  gboolean  quiet;
  char     *name;
  char     *notice;
} CreateCall;

static void
create_progress_cb (guint64     done,
                    guint64     total,
                    const char *stage,
                    gpointer    user_data)
{
  CreateCall *call = user_data;

  if (call->quiet || !call->tty)
    return;

  if (total > 0)
    {
      g_autofree char *d = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *t = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);

      g_printerr ("\r\033[K%s: %3.0f%% (%s of %s)", stage, 100.0 * done / total, d, t);
    }
  else
    g_printerr ("\r\033[K%s…", stage);
}

static void
created_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  CreateCall *call = user_data;

  call->name = tsr_connection_create_vm_from_image_finish (TSR_CONNECTION (object), result,
                                                           &call->notice, &call->cli->error);
  g_main_loop_quit (call->cli->loop);
}

static void
cancel_cb (GCancellable *cancellable)
{
  g_cancellable_cancel (cancellable);
}

static gboolean
sigint_cb (gpointer user_data)
{
  cancel_cb (user_data);
  return G_SOURCE_CONTINUE;
}

static int
cmd_create (int    argc,
            char **argv)
{
  g_autofree char *klass = NULL, *label = NULL, *template_name = NULL, *pool = NULL;
  g_autofree char *mem = NULL, *copy_from = NULL, *move_from = NULL, *disk_size = NULL;
  g_auto(GStrv) properties = NULL;
  gboolean hvm = FALSE, quiet = FALSE, force_mac = FALSE;
  const GOptionEntry entries[] = {
    { "class", 'C', 0, G_OPTION_ARG_STRING, &klass,
      N_("StandaloneVM (default) or TemplateVM"), N_("CLASS") },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &label,
      N_("red, orange, yellow, green, gray, blue, purple or black (required)"), N_("LABEL") },
    { "template", 't', 0, G_OPTION_ARG_STRING, &template_name,
      N_("Copy the root disk of this TemplateVM"), N_("TEMPLATE") },
    { "property", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &properties,
      N_("Set a property: memory, maxmem, vcpus, netvm, mac, kernel, kernelopts, virt_mode, "
         "firmware, os, disk_size (repeatable)"), N_("KEY=VALUE") },
    { "prop", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, &properties, NULL, NULL },
    { "mem", 0, 0, G_OPTION_ARG_STRING, &mem, N_("Initial memory, in MiB"), N_("MIB") },
    { "hvm", 0, 0, G_OPTION_ARG_NONE, &hvm,
      N_("A standalone HVM with no kernel (boots its disk or install media)"), NULL },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &pool,
      N_("Storage pool for the disk (default: tessera)"), N_("POOL") },
    { "disk-size", 0, 0, G_OPTION_ARG_STRING, &disk_size,
      N_("Size of a new root disk (default 20G)"), N_("SIZE") },
    { "root-copy-from", 0, 0, G_OPTION_ARG_FILENAME, &copy_from,
      N_("Use a copy of this image as the root disk (raw, qcow2, .vmdk, .vdi, .vhd, .vhdx, .ova…)"), N_("FILE") },
    { "root-move-from", 0, 0, G_OPTION_ARG_FILENAME, &move_from,
      N_("Move this image into the pool as the root disk (raw, qcow2, .vmdk, .vdi, .vhd, .vhdx, .ova…)"), N_("FILE") },
    { "force-mac", 0, 0, G_OPTION_ARG_NONE, &force_mac,
      N_("Accept a MAC address another VM already uses"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (_("VMNAME"), _("Create a virtual machine (Qubes: qvm-create)."), entries);
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CreateCall call = { 0 };
  Cli cli = { 0 };
  guint sigint;
  int status;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;

  if (argc != 2)
    {
      g_printerr (_("Name exactly one new VM. Run with --help to see the options.\n"));
      return EXIT_USAGE;
    }
  if (label == NULL)
    {
      g_printerr (_("--label is required: red, orange, yellow, green, gray, blue, purple or "
                    "black.\n"));
      return EXIT_USAGE;
    }

  spec = tsr_create_spec_new (argv[1]);
  g_free (spec->label);
  spec->label = g_strdup (label);
  if (klass != NULL)
    {
      g_free (spec->klass);
      spec->klass = g_strdup (klass);
    }
  spec->template_name = g_strdup (template_name);
  if (pool != NULL)
    {
      g_free (spec->pool);
      spec->pool = g_strdup (pool);
    }
  spec->root_copy_from = g_strdup (copy_from);
  spec->root_move_from = g_strdup (move_from);
  spec->mac_force = force_mac;

  {
    g_autoptr(GError) error = NULL;

    if (hvm)
      {
        g_free (spec->virt_mode);
        spec->virt_mode = g_strdup ("hvm");
        g_free (spec->kernel);
        spec->kernel = g_strdup ("");
      }
    if ((mem != NULL && !tsr_create_spec_set_property (spec, "memory", mem, &error)) ||
        (disk_size != NULL && !tsr_create_spec_set_property (spec, "disk_size", disk_size, &error)))
      {
        g_printerr ("%s\n", error->message);
        return EXIT_USAGE;
      }
    for (guint i = 0; properties != NULL && properties[i] != NULL; i++)
      {
        g_auto(GStrv) kv = g_strsplit (properties[i], "=", 2);

        if (kv[0] == NULL || kv[1] == NULL)
          {
            g_printerr (_("--property takes KEY=VALUE, not “%s”.\n"), properties[i]);
            return EXIT_USAGE;
          }
        /* kernel='' arrives as an empty value: boot from disk or media. */
        if (!tsr_create_spec_set_property (spec, g_strstrip (kv[0]), kv[1], &error))
          {
            g_printerr ("%s\n", error->message);
            return EXIT_USAGE;
          }
      }
  }

  if (!cli_open (&cli))
    {
      cli_clear (&cli);
      return EXIT_FAILED;
    }

  call.cli = &cli;
  call.quiet = quiet;
  call.tty = isatty (STDERR_FILENO);
  sigint = g_unix_signal_add (SIGINT, sigint_cb, cancellable);
  tsr_connection_create_vm_from_image_async (cli.conn, spec, create_progress_cb, &call, cancellable,
                                             created_cb, &call);
  g_main_loop_run (cli.loop);
  g_source_remove (sigint);
  if (call.tty && !quiet)
    g_printerr ("\r\033[K");

  if (call.name == NULL)
    {
      g_printerr ("%s\n", cli.error->message);
      status = g_error_matches (cli.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
               ? EXIT_FAILED : exit_code_for (cli.error);
    }
  else
    {
      if (call.notice != NULL)
        g_printerr (_("Note: %s\n"), call.notice);
      status = EXIT_OK;
    }

  g_free (call.name);
  g_free (call.notice);
  cli_clear (&cli);
  return status;
}

/* Dispatch */

static void
print_usage (const char *prog)
{
  g_printerr (_("Usage: %s [--connect URI] COMMAND [ARGS…]\n"
                "\n"
                "Commands:\n"
                "  create --label L VM  create a VM (also as qvm-create)\n"
                "  ls [-n]            list VMs (also as qvm-ls)\n"
                "  prefs VM [PROP [VALUE]]  show or change settings (also as qvm-prefs)\n"
                "  pci [attach|detach VM DEV]  host PCI devices (also as qvm-pci)\n"
                "  start [--cdrom=SRC] VM…  start VMs (also as qvm-start)\n"
                "  shutdown [--wait] VM…  shut VMs down (also as qvm-shutdown)\n"
                "  kill VM…           force VMs off (also as qvm-kill)\n"
                "  clone [--linked] SRC DST  clone a VM (also as qvm-clone)\n"
                "  import FILE [--name N]  import a VirtualBox appliance or disk image\n"
                "\n"
                "Run “%s COMMAND --help” for a command’s options.\n"), prog, prog);
}

int
tsr_cli_main (int    argc,
              char **argv)
{
  g_autofree char *prog = g_path_get_basename (argv[0]);
  const char *command = NULL;
  char **sub_argv = argv;
  int sub_argc = argc;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (g_str_has_prefix (prog, "qvm-"))
    command = prog + strlen ("qvm-");
  else
    {
      /* tessera-cli [--connect URI] COMMAND … */
      int i = 1;

      while (i < argc && argv[i][0] == '-')
        {
          if ((strcmp (argv[i], "--connect") == 0 || strcmp (argv[i], "-c") == 0) && i + 1 < argc)
            {
              opt_connect = g_strdup (argv[i + 1]);
              i += 2;
            }
          else if (g_str_has_prefix (argv[i], "--connect="))
            {
              opt_connect = g_strdup (argv[i] + strlen ("--connect="));
              i++;
            }
          else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
            {
              print_usage (prog);
              return EXIT_OK;
            }
          else if (strcmp (argv[i], "--version") == 0)
            {
              g_print ("tessera-cli %s\n", PACKAGE_VERSION);
              return EXIT_OK;
            }
          else
            {
              g_printerr (_("Unknown option “%s”.\n"), argv[i]);
              print_usage (prog);
              return EXIT_USAGE;
            }
        }

      if (i >= argc)
        {
          print_usage (prog);
          return EXIT_USAGE;
        }

      command = argv[i];
      sub_argv = argv + i;
      sub_argc = argc - i;
    }

  if (strcmp (command, "create") == 0)
    return cmd_create (sub_argc, sub_argv);
  if (strcmp (command, "prefs") == 0)
    return tsr_cli_prefs (sub_argc, sub_argv);
  if (strcmp (command, "pci") == 0)
    return tsr_cli_pci (sub_argc, sub_argv);
  if (strcmp (command, "ls") == 0)
    return cmd_ls (sub_argc, sub_argv);
  if (strcmp (command, "start") == 0)
    return cmd_lifecycle (OP_START, sub_argc, sub_argv);
  if (strcmp (command, "shutdown") == 0)
    return cmd_lifecycle (OP_SHUTDOWN, sub_argc, sub_argv);
  if (strcmp (command, "kill") == 0)
    return cmd_lifecycle (OP_KILL, sub_argc, sub_argv);
  if (strcmp (command, "clone") == 0)
    return tsr_cli_clone (sub_argc, sub_argv);
  if (strcmp (command, "import") == 0)
    return tsr_cli_import (sub_argc, sub_argv);

  g_printerr (_("Unknown command “%s”.\n"), command);
  print_usage (prog);
  return EXIT_USAGE;
}
