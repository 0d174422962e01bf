/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <signal.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "tsr-cli-private.h"
#include "tsr-connection.h"
#include "tsr-error.h"
#include "tsr-import.h"

/* tessera-cli import FILE: a VirtualBox appliance (.ova, .ovf) or a disk
 * image (.vmdk, .vdi, .vhd, .vhdx, .qcow2, .img), or a .zip holding one,
 * becomes an HVM in one step. What was found is printed first; the
 * options override it. Ctrl+C cancels and leaves nothing behind.
 */

int tsr_cli_import (int    argc,
                    char **argv);

typedef struct
{
  GMainLoop     *loop;
  GCancellable  *cancellable;
  gboolean       tty;
  gboolean       quiet;
  gboolean       cancelled;
  TsrImportInfo *info;
  char          *name;
  char          *notice;
  GError        *error;
} ImportCall;

static void
import_progress_cb (guint64     done,
                    guint64     total,
                    const char *stage,
                    gpointer    user_data)
{
  ImportCall *call = user_data;

  if (call->quiet || !call->tty)
    return;

  if (call->cancelled)
    g_printerr ("\r\033[K%s", _("Cancelling…"));
  else if (total > 0)
    {
      g_autofree char *d = g_format_size_full (done, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *t = g_format_size_full (total, G_FORMAT_SIZE_IEC_UNITS);

      g_printerr ("\r\033[K%s: %3.0f%% (%s of %s)", stage, 100.0 * done / total, d, t);
    }
  else
    g_printerr ("\r\033[K%s…", stage);
}

static void
inspected_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  ImportCall *call = user_data;

  call->info = tsr_import_inspect_finish (result, &call->error);
  g_main_loop_quit (call->loop);
}

static void
imported_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  ImportCall *call = user_data;

  call->name = tsr_connection_import_finish (TSR_CONNECTION (object), result, &call->notice,
                                             &call->error);
  g_main_loop_quit (call->loop);
}

static gboolean
sigint_cb (gpointer user_data)
{
  ImportCall *call = user_data;

  call->cancelled = TRUE;
  g_cancellable_cancel (call->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
print_info (const TsrImportInfo *info)
{
  g_autofree char *required = g_format_size_full (info->required, G_FORMAT_SIZE_IEC_UNITS);

  g_print (_("Found: %s (%s)\n"), info->path, info->kind);
  if (info->appliance_name != NULL && g_strcmp0 (info->appliance_name, info->name) != 0)
    g_print (_("  Name:      %s (the appliance calls it “%s”)\n"), info->name,
             info->appliance_name);
  else
    g_print (_("  Name:      %s\n"), info->name);
  if (info->memory > 0)
    g_print (_("  Memory:    %" G_GUINT64_FORMAT " MiB\n"), info->memory);
  else
    g_print (_("  Memory:    not given\n"));
  if (info->vcpus > 0)
    g_print (_("  vCPUs:     %u\n"), info->vcpus);
  else
    g_print (_("  vCPUs:     not given\n"));
  g_print (_("  Firmware:  %s\n"), info->firmware);
  g_print (_("  System:    %s (%s)\n"), info->os_type ? info->os_type : _("unknown"),
           info->os_family);
  for (guint i = 0; i < info->disks->len; i++)
    {
      const TsrImportDisk *disk = g_ptr_array_index (info->disks, i);
      g_autofree char *capacity = g_format_size_full (disk->capacity, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *needs = g_format_size_full (disk->required, G_FORMAT_SIZE_IEC_UNITS);

      g_print (_("  Disk %u:    %s — %s, %s, needs %s in the pool\n"), i + 1, disk->name,
               disk->format ? disk->format : _("blank"), capacity, needs);
    }
  g_print (_("  Space:     %s in the pool\n"), required);
  if (info->temp_size > 0)
    {
      g_autofree char *temp = g_format_size_full (info->temp_size, G_FORMAT_SIZE_IEC_UNITS);

      g_print (_("  Unpacked:  %s of temporary files while importing\n"), temp);
    }
  for (guint i = 0; info->warnings != NULL && info->warnings[i] != NULL; i++)
    g_printerr (_("Note: %s\n"), info->warnings[i]);
}

int
tsr_cli_import (int    argc,
                char **argv)
{
  g_autofree char *name = NULL, *label = NULL, *mem = NULL, *vcpus = NULL, *pool = NULL;
  g_auto(GStrv) properties = NULL;
  gboolean move = FALSE, dry_run = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name,
      N_("Name of the new VM (default: the appliance’s or file’s name)"), N_("NAME") },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &label,
      N_("red (default), orange, yellow, green, gray, blue, purple or black"), N_("LABEL") },
    { "mem", 'm', 0, G_OPTION_ARG_STRING, &mem,
      N_("Memory, in MiB (default: what the appliance says)"), N_("MIB") },
    { "vcpus", 0, 0, G_OPTION_ARG_STRING, &vcpus,
      N_("vCPUs (default: what the appliance says)"), N_("N") },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &pool,
      N_("Storage pool for the disks (default: tessera)"), N_("POOL") },
    { "property", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &properties,
      N_("Set a property as qvm-create does: netvm, mac, firmware, os, maxmem… (repeatable)"),
      N_("KEY=VALUE") },
    { "move", 0, 0, G_OPTION_ARG_NONE, &move,
      N_("Remove the imported file(s) once the VM exists"), NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
      N_("Only show what the file holds; change nothing"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("No summary or progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    make_context (_("FILE"), _("Import a VirtualBox appliance (.ova, .ovf) or a disk image (.vmdk, "
                               ".vdi, .vhd, .vhdx, .qcow2, .img, or a .zip holding one) as an "
                               "HVM."), entries);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TsrCreateSpec) spec = NULL;
  ImportCall call = { 0 };
  Cli cli = { 0 };
  guint sigint, sigterm, sighup;
  int status;

  if (!parse_args (context, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("Name exactly one file to import. Run with --help to see the options.\n"));
      return EXIT_USAGE;
    }

  call.quiet = quiet;
  call.tty = isatty (STDERR_FILENO);
  call.loop = g_main_loop_new (NULL, FALSE);
  call.cancellable = cancellable;
  /* Ctrl+C, kill and a closed terminal all cancel, so the rollback runs. */
  sigint = g_unix_signal_add (SIGINT, sigint_cb, &call);
  sigterm = g_unix_signal_add (SIGTERM, sigint_cb, &call);
  sighup = g_unix_signal_add (SIGHUP, sigint_cb, &call);

  tsr_import_inspect_async (argv[1], import_progress_cb, &call, cancellable, inspected_cb, &call);
  g_main_loop_run (call.loop);
  if (call.tty && !quiet)
    g_printerr ("\r\033[K");
  if (call.info == NULL)
    {
      g_printerr ("%s\n", call.error->message);
      status = g_error_matches (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
               ? EXIT_FAILED : exit_code_for (call.error);
      goto out;
    }
  if (!quiet || dry_run)
    print_info (call.info);

  spec = tsr_import_info_make_spec (call.info);
  {
    g_autoptr(GError) error = NULL;

    if (name != NULL)
      {
        g_free (spec->name);
        spec->name = g_strdup (name);
      }
    if (pool != NULL)
      {
        g_free (spec->pool);
        spec->pool = g_strdup (pool);
      }
    if ((label != NULL && !tsr_create_spec_set_property (spec, "label", label, &error)) ||
        (mem != NULL && !tsr_create_spec_set_property (spec, "memory", mem, &error)) ||
        (vcpus != NULL && !tsr_create_spec_set_property (spec, "vcpus", vcpus, &error)))
      {
        g_printerr ("%s\n", error->message);
        status = EXIT_USAGE;
        goto out;
      }
    for (guint i = 0; properties != NULL && properties[i] != NULL; i++)
      {
        g_auto(GStrv) kv = g_strsplit (properties[i], "=", 2);

        if (kv[0] == NULL || kv[1] == NULL)
          {
            g_printerr (_("--property takes KEY=VALUE, not “%s”.\n"), properties[i]);
            status = EXIT_USAGE;
            goto out;
          }
        if (!tsr_create_spec_set_property (spec, g_strstrip (kv[0]), kv[1], &error))
          {
            g_printerr ("%s\n", error->message);
            status = EXIT_USAGE;
            goto out;
          }
      }
  }

  if (dry_run)
    {
      status = EXIT_OK;
      goto out;
    }

  if (!cli_open (&cli))
    {
      status = EXIT_FAILED;
      goto out;
    }

  tsr_connection_import_async (cli.conn, call.info, spec, move ? TSR_IMPORT_MOVE : 0,
                               import_progress_cb, &call, cancellable, imported_cb, &call);
  g_main_loop_run (call.loop);
  if (call.tty && !quiet)
    g_printerr ("\r\033[K");

  if (call.name == NULL)
    {
      g_printerr ("%s\n", call.error->message);
      status = g_error_matches (call.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
               ? EXIT_FAILED : exit_code_for (call.error);
    }
  else
    {
      if (call.notice != NULL)
        g_printerr (_("Note: %s\n"), call.notice);
      if (!quiet)
        g_print (_("Imported “%s”.\n"), call.name);
      status = EXIT_OK;
    }

out:
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_source_remove (sighup);
  cli_clear (&cli);
  g_clear_pointer (&call.info, tsr_import_info_unref);
  g_clear_pointer (&call.loop, g_main_loop_unref);
  g_clear_error (&call.error);
  g_free (call.name);
  g_free (call.notice);
  return status;
}
