/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-import.h"

/* tessera-cli import FILE: a VirtualBox appliance (.ova, .ovf) or a disk
 * image (.vmdk, .vdi, .vhd, .vhdx, .qcow2, .img), or a .zip holding one,
 * becomes an HVM in one step. What was found is printed first; the
 * options override it. Ctrl+C cancels and leaves nothing behind.
 */

typedef struct
{
  char     *name;
  char     *label;
  char     *mem;
  char     *vcpus;
  char     *pool;
  char    **properties;
  gboolean  move;
  gboolean  dry_run;
  gboolean  quiet;
} ImportOptions;

static void
import_options_clear (ImportOptions *options)
{
  g_free (options->name);
  g_free (options->label);
  g_free (options->mem);
  g_free (options->vcpus);
  g_free (options->pool);
  g_strfreev (options->properties);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ImportOptions, import_options_clear)

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
  g_print (_("  System:    %s (%s%s%s)\n"), info->os_type ? info->os_type : _("unknown"),
           info->os_family, info->os_id ? ", " : "", info->os_id ? info->os_id : "");
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

/* What the file holds, overridden by the options; NULL after saying what is
 * wrong.
 */
static TsrCreateSpec *
make_spec (const TsrImportInfo *info,
           const ImportOptions *options)
{
  g_autoptr(TsrCreateSpec) spec = tsr_import_info_make_spec (info);

  tsr_cli_replace_string (&spec->name, options->name);
  tsr_cli_replace_string (&spec->pool, options->pool);
  if (!tsr_cli_set_property (spec, "label", options->label)
      || !tsr_cli_set_property (spec, "memory", options->mem)
      || !tsr_cli_set_property (spec, "vcpus", options->vcpus)
      || !tsr_cli_set_properties (spec, options->properties))
    return NULL;

  return g_steal_pointer (&spec);
}

int
tsr_cli_import (int    argc,
                char **argv)
{
  g_auto(ImportOptions) o = { 0 };
  const GOptionEntry entries[] = {
    { "name", 'n', 0, G_OPTION_ARG_STRING, &o.name,
      N_("Name of the new VM (default: the appliance’s or file’s name)"), N_("NAME") },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &o.label,
      N_("red (default), orange, yellow, green, gray, blue, purple or black"), N_("LABEL") },
    { "mem", 'm', 0, G_OPTION_ARG_STRING, &o.mem,
      N_("Memory, in MiB (default: what the appliance says)"), N_("MIB") },
    { "vcpus", 0, 0, G_OPTION_ARG_STRING, &o.vcpus,
      N_("vCPUs (default: what the appliance says)"), N_("N") },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &o.pool,
      N_("Storage pool for the disks (default: tessera)"), N_("POOL") },
    { "property", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &o.properties,
      N_("Set a property as qvm-create does: netvm, mac, firmware, os, maxmem… (repeatable)"),
      N_("KEY=VALUE") },
    { "move", 0, 0, G_OPTION_ARG_NONE, &o.move,
      N_("Remove the imported file(s) once the VM exists"), NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &o.dry_run,
      N_("Only show what the file holds; change nothing"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, N_("No summary or progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("FILE"), _("Import a VirtualBox appliance (.ova, .ovf) or a disk "
                                       "image (.vmdk, .vdi, .vhd, .vhdx, .qcow2, .img, or a .zip "
                                       "holding one) as an HVM."), entries);
  g_autoptr(TsrImportInfo) info = NULL;
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_auto(TsrCliJob) job = { 0 };
  int status;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      g_printerr (_("Name exactly one file to import. Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }

  tsr_cli_job_init (&job, o.quiet);
  tsr_import_inspect_async (argv[1], tsr_cli_job_progress_cb, &job, job.cancellable,
                            tsr_cli_async_cb, &job.cli);
  info = tsr_import_inspect_finish (tsr_cli_job_wait (&job), &job.error);
  if (info == NULL)
    return tsr_cli_report_error (job.error);
  if (!o.quiet || o.dry_run)
    print_info (info);

  spec = make_spec (info, &o);
  if (spec == NULL)
    return TSR_CLI_EXIT_USAGE;
  if (o.dry_run)
    return TSR_CLI_EXIT_OK;
  if (!tsr_cli_open (&job.cli))
    return TSR_CLI_EXIT_FAILED;

  tsr_connection_import_async (job.cli.conn, info, spec, o.move ? TSR_IMPORT_MOVE : 0,
                               tsr_cli_job_progress_cb, &job, job.cancellable,
                               tsr_cli_async_cb, &job.cli);
  job.name = tsr_connection_import_finish (job.cli.conn, tsr_cli_job_wait (&job), &job.note,
                                           &job.error);
  status = tsr_cli_job_report (&job, _("Note: %s\n"));
  if (status == TSR_CLI_EXIT_OK && !o.quiet)
    g_print (_("Imported “%s”.\n"), job.name);
  return status;
}
