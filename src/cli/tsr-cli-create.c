/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-cli-private.h"
#include "tsr-import.h"

/* qvm-create NAME --label L [--template T | --root-copy-from/--root-move-from
 * IMAGE] [--property KEY=VALUE…], as in Qubes, plus --hvm, --pool and a
 * progress line; Ctrl+C cancels and leaves nothing behind.
 */

typedef struct
{
  char     *klass;
  char     *label;
  char     *template_name;
  char     *pool;
  char     *mem;
  char     *copy_from;
  char     *move_from;
  char     *disk_size;
  char    **properties;
  gboolean  hvm;
  gboolean  quiet;
  gboolean  force_mac;
} CreateOptions;

static void
create_options_clear (CreateOptions *options)
{
  g_free (options->klass);
  g_free (options->label);
  g_free (options->template_name);
  g_free (options->pool);
  g_free (options->mem);
  g_free (options->copy_from);
  g_free (options->move_from);
  g_free (options->disk_size);
  g_strfreev (options->properties);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CreateOptions, create_options_clear)

/* The spec for NAME from the options, or NULL after saying what is wrong. */
static TsrCreateSpec *
make_spec (const char          *name,
           const CreateOptions *options)
{
  g_autoptr(TsrCreateSpec) spec = tsr_create_spec_new (name);

  tsr_cli_replace_string (&spec->label, options->label);
  tsr_cli_replace_string (&spec->klass, options->klass);
  spec->template_name = g_strdup (options->template_name);
  tsr_cli_replace_string (&spec->pool, options->pool);
  spec->root_copy_from = g_strdup (options->copy_from);
  spec->root_move_from = g_strdup (options->move_from);
  spec->mac_force = options->force_mac;

  if (options->hvm)
    {
      tsr_cli_replace_string (&spec->virt_mode, "hvm");
      tsr_cli_replace_string (&spec->kernel, "");
    }
  if (!tsr_cli_set_property (spec, "memory", options->mem)
      || !tsr_cli_set_property (spec, "disk_size", options->disk_size)
      || !tsr_cli_set_properties (spec, options->properties))
    return NULL;

  return g_steal_pointer (&spec);
}

int
tsr_cli_create (int    argc,
                char **argv)
{
  g_auto(CreateOptions) o = { 0 };
  const GOptionEntry entries[] = {
    { "class", 'C', 0, G_OPTION_ARG_STRING, &o.klass,
      N_("StandaloneVM (default) or TemplateVM"), N_("CLASS") },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &o.label,
      N_("red, orange, yellow, green, gray, blue, purple or black (required)"), N_("LABEL") },
    { "template", 't', 0, G_OPTION_ARG_STRING, &o.template_name,
      N_("Copy the root disk of this TemplateVM"), N_("TEMPLATE") },
    { "property", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &o.properties,
      N_("Set a property: memory, maxmem, vcpus, netvm, mac, kernel, kernelopts, virt_mode, "
         "firmware, os (linux, windows, other or a libosinfo short id like win11), "
         "drivers_media, disk_size (repeatable)"), N_("KEY=VALUE") },
    { "prop", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, &o.properties, NULL, NULL },
    { "mem", 0, 0, G_OPTION_ARG_STRING, &o.mem, N_("Initial memory, in MiB"), N_("MIB") },
    { "hvm", 0, 0, G_OPTION_ARG_NONE, &o.hvm,
      N_("A standalone HVM with no kernel (boots its disk or install media)"), NULL },
    { "pool", 'P', 0, G_OPTION_ARG_STRING, &o.pool,
      N_("Storage pool for the disk (default: tessera)"), N_("POOL") },
    { "disk-size", 0, 0, G_OPTION_ARG_STRING, &o.disk_size,
      N_("Size of a new root disk (default 20G)"), N_("SIZE") },
    { "root-copy-from", 0, 0, G_OPTION_ARG_FILENAME, &o.copy_from,
      N_("Use a copy of this image as the root disk (raw, qcow2, .vmdk, .vdi, .vhd, .vhdx, .ova…)"), N_("FILE") },
    { "root-move-from", 0, 0, G_OPTION_ARG_FILENAME, &o.move_from,
      N_("Move this image into the pool as the root disk (raw, qcow2, .vmdk, .vdi, .vhd, .vhdx, .ova…)"), N_("FILE") },
    { "force-mac", 0, 0, G_OPTION_ARG_NONE, &o.force_mac,
      N_("Accept a MAC address another VM already uses"), NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, N_("No progress line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    tsr_cli_make_context (_("VMNAME"), _("Create a virtual machine (Qubes: qvm-create)."),
                          entries);
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_auto(TsrCliJob) job = { 0 };

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;

  if (argc != 2)
    {
      g_printerr (_("Name exactly one new VM. Run with --help to see the options.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  if (o.label == NULL)
    {
      g_printerr (_("--label is required: red, orange, yellow, green, gray, blue, purple or "
                    "black.\n"));
      return TSR_CLI_EXIT_USAGE;
    }
  spec = make_spec (argv[1], &o);
  if (spec == NULL)
    return TSR_CLI_EXIT_USAGE;

  if (!tsr_cli_open (&job.cli))
    return TSR_CLI_EXIT_FAILED;

  tsr_cli_job_init (&job, o.quiet);
  tsr_connection_create_vm_from_image_async (job.cli.conn, spec, tsr_cli_job_progress_cb, &job,
                                             job.cancellable, tsr_cli_async_cb, &job.cli);
  job.name = tsr_connection_create_vm_from_image_finish (job.cli.conn, tsr_cli_job_wait (&job),
                                                         &job.note, &job.error);
  return tsr_cli_job_report (&job, _("Note: %s\n"));
}
