/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "tsr-cli-private.h"

/* qvm-ls: a table of the VMs in Qubes' columns. */

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
  "netmask", "mac", "virt_mode", "kernel", "memory", "maxmem", "vcpus", "uuid", "revision",
  "outdated", NULL
};

/* For "outdated": the VM's template, in the same list. */
static TsrConnection *ls_connection;

/* An AppVM that runs on an older revision of its template's root than the
 * newest: it picks the new one up at its next start.
 */
static gboolean
is_outdated (TsrVm *vm)
{
  const char *tpl = tsr_vm_get_base_template (vm);

  /* The same rule as the window's "Outdated" pill (tsr_vm_is_outdated). */
  if (tpl == NULL || ls_connection == NULL)
    return FALSE;
  return tsr_vm_is_outdated (vm, tsr_connection_lookup_vm (ls_connection, tpl));
}

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
  if (strcmp (field, "revision") == 0)
    return g_strdup_printf ("%u", tsr_vm_get_revision (vm));
  if (strcmp (field, "outdated") == 0)
    return g_strdup (is_outdated (vm) ? "yes" : "-");

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

/* TEXT and spaces up to WIDTH characters (printf pads bytes). */
static void
print_padded (const char *text,
              gsize       width)
{
  gsize len = g_utf8_strlen (text, -1);

  g_print ("%s%*s  ", text, (int) (width > len ? width - len : 0), "");
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
          g_autofree char *text = field_text (g_ptr_array_index (vms, i), fields[f]);

          row[f] = tsr_cli_printable (text);
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
            print_padded (row[f], widths[f]);
          else
            g_print ("%s\n", row[f]);
        }
    }
}

/* The columns asked for, checked and in the canonical spelling
 * (lower case, “_” for “-”), or NULL after saying what is wrong.
 */
static char **
choose_fields (gboolean    raw_list,
               const char *fields_opt,
               gboolean    network,
               const char *format)
{
  g_auto(GStrv) fields = NULL;

  if (raw_list)
    fields = g_strsplit ("name", ",", -1);
  else if (fields_opt != NULL)
    fields = g_strsplit (fields_opt, ",", -1);
  else if (network || g_strcmp0 (format, "network") == 0)
    fields = g_strsplit ("name,state,netvm,ip,ipback,gateway,netmask", ",", -1);
  else if (format == NULL || g_strcmp0 (format, "simple") == 0)
    fields = g_strsplit ("name,state,class,label,template,netvm", ",", -1);
  else if (g_strcmp0 (format, "full") == 0)
    fields = g_strsplit ("name,state,class,label,template,outdated,netvm,virt_mode,kernel,memory,"
                         "maxmem,vcpus,ip,netmask,gateway,mac,uuid", ",", -1);
  else
    {
      g_printerr (_("Unknown format “%s”: use simple, network or full.\n"), format);
      return NULL;
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
          return NULL;
        }
    }

  return g_steal_pointer (&fields);
}

int
tsr_cli_ls (int    argc,
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
    tsr_cli_make_context (_("[VMNAME…]"), _("List virtual machines and their network addresses."),
                          entries);
  g_auto(GStrv) fields = NULL;
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(TsrCli) cli = { 0 };
  GListModel *model;
  int status = TSR_CLI_EXIT_OK;

  if (!tsr_cli_parse_args (context, &argc, &argv))
    return TSR_CLI_EXIT_USAGE;
  fields = choose_fields (raw_list, fields_opt, network, format);
  if (fields == NULL)
    return TSR_CLI_EXIT_USAGE;
  if (!tsr_cli_open (&cli))
    return TSR_CLI_EXIT_FAILED;
  ls_connection = cli.conn;

  model = tsr_connection_get_vms (cli.conn);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (argc > 1 && !g_strv_contains ((const char * const *) argv + 1, tsr_vm_get_name (vm)))
        continue;
      g_ptr_array_add (vms, g_steal_pointer (&vm));
    }

  /* Unlike the other commands, qvm-ls still lists the VMs that exist. */
  for (int a = 1; a < argc; a++)
    {
      if (tsr_connection_lookup_vm (cli.conn, argv[a]) == NULL)
        {
          g_printerr (_("No VM named “%s” on %s.\n"), argv[a], tsr_connection_get_uri (cli.conn));
          status = TSR_CLI_EXIT_USAGE;
        }
    }

  g_ptr_array_sort (vms, compare_vm_names);
  print_table (vms, fields, raw_data || raw_list);
  return status;
}
