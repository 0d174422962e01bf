/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-error.h"
#include "tsr-rules.h"
#include "tsr-vm.h"

gboolean
tsr_rules_check_label (const char  *label,
                       GError     **error)
{
  if (label == NULL || !g_strv_contains (tsr_vm_labels, label))
    {
      g_autofree char *labels = g_strjoinv (", ", (char **) tsr_vm_labels);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is not a label: use one of %s."), label ? label : "", labels);
      return FALSE;
    }
  return TRUE;
}

gboolean
tsr_rules_check_resources (guint64             memory,
                           guint64             maxmem,
                           guint               vcpus,
                           const char         *kernelopts,
                           const TsrHostCaps  *caps,
                           GError            **error)
{
  g_return_val_if_fail (kernelopts != NULL, FALSE);
  g_return_val_if_fail (caps != NULL, FALSE);

  if (memory < 64)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Memory of %" G_GUINT64_FORMAT " MiB is too little: give at least 64 MiB."),
                   memory);
      return FALSE;
    }
  if (maxmem != 0 && maxmem < memory)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Max memory (%" G_GUINT64_FORMAT " MiB) is below memory (%" G_GUINT64_FORMAT
                     " MiB): make it 0 (no balloon) or at least the memory."),
                   maxmem, memory);
      return FALSE;
    }
  /* A definition that claims more RAM than the host has can never run. */
  if (caps->host_memory > 0 && MAX (memory, maxmem) > caps->host_memory)
    {
      g_autofree char *have = g_format_size_full (caps->host_memory * 1024 * 1024,
                                                  G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%s of %" G_GUINT64_FORMAT " MiB is more than this host has (%s): give at "
                     "most %" G_GUINT64_FORMAT " MiB."),
                   maxmem > memory ? _("Max memory") : _("Memory"), MAX (memory, maxmem), have,
                   caps->host_memory);
      return FALSE;
    }
  /* Where the host does not say, still no more than a definition can hold
   * (libvirt stores KiB in 64 bits; QEMU on x86_64 addresses 4 PiB at most).
   */
  if (caps->host_memory == 0 && MAX (memory, maxmem) > TSR_RULES_MAX_MEMORY_MIB)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%s of %" G_GUINT64_FORMAT " MiB is more than any host can have: give at "
                     "most %" G_GUINT64_FORMAT " MiB."),
                   maxmem > memory ? _("Max memory") : _("Memory"), MAX (memory, maxmem),
                   (guint64) TSR_RULES_MAX_MEMORY_MIB);
      return FALSE;
    }
  if (vcpus < 1 || vcpus > caps->host_cpus)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%u vCPUs is not possible here: give between 1 and %u, the host’s CPUs."),
                   vcpus, caps->host_cpus);
      return FALSE;
    }
  if (strlen (kernelopts) > 512 || strchr (kernelopts, '\n') != NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("Kernel options must be one line of at most 512 characters."));
      return FALSE;
    }
  return TRUE;
}

/* An empty kernel means none, which is always allowed. */
gboolean
tsr_rules_check_kernel_installed (const char  *kernels_dir,
                                  const char  *kernel,
                                  GError     **error)
{
  if (*kernel != '\0' && !tsr_kernel_exists (kernels_dir, kernel))
    {
      g_auto(GStrv) kernels = tsr_kernels_list (kernels_dir);
      g_autofree char *list = g_strjoinv (", ", kernels);

      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("Kernel “%s” is not installed in %s. Installed: %s."), kernel,
                   kernels_dir, *list ? list : _("none"));
      return FALSE;
    }
  return TRUE;
}

/* check_hvm: a new VM needs HVM guests in the capabilities; an existing one already ran
 * somewhere, so changing its settings does not ask again. */
gboolean
tsr_rules_check_virt_mode (const char         *virt_mode,
                           const char         *kernel,
                           const TsrHostCaps  *caps,
                           gboolean            check_hvm,
                           GError            **error)
{
  if (g_str_equal (virt_mode, "pv") && !caps->xen_pv)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("This host cannot run PV VMs (it is not a Xen host): use virt_mode "
                             "hvm, or pvh with a kernel."));
      return FALSE;
    }
  if (check_hvm && !g_str_equal (virt_mode, "pv") && !caps->hvm)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("This host lists no HVM guests in its capabilities: check that "
                             "QEMU is installed (Debian: qemu-system-x86)."));
      return FALSE;
    }
  if (!g_str_equal (virt_mode, "hvm") && *kernel == '\0')
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("virt_mode %s needs a kernel: choose one, or use virt_mode hvm to boot "
                     "from the disk or install media."), virt_mode);
      return FALSE;
    }
  return TRUE;
}

/* caps NULL skips the host check, for a VM that already has this firmware. */
gboolean
tsr_rules_check_firmware (const char         *firmware,
                          const TsrHostCaps  *caps,
                          GError            **error)
{
  if (!g_str_equal (firmware, "bios") && !g_str_equal (firmware, "uefi"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Firmware must be bios or uefi, not “%s”."), firmware);
      return FALSE;
    }
  if (caps != NULL && g_str_equal (firmware, "uefi") && !caps->uefi)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("This host has no UEFI firmware for VMs: install the “ovmf” package, "
                             "or use bios."));
      return FALSE;
    }
  return TRUE;
}

/* A disk the host can give: a raw disk takes its whole size in its pool
 * sooner or later, so it must fit in the pool's capacity (POOL_CAPACITY 0:
 * unknown, not checked); a qcow2 disk only takes what is written, but its
 * virtual size has qcow2's own limit. Other formats are not made by Tessera.
 */
gboolean
tsr_rules_check_disk_size (guint64      bytes,
                           const char  *format,
                           const char  *pool,
                           guint64      pool_capacity,
                           GError     **error)
{
  g_return_val_if_fail (format != NULL, FALSE);
  g_return_val_if_fail (pool != NULL, FALSE);

  if (g_str_equal (format, "qcow2") && bytes > TSR_RULES_QCOW2_MAX_BYTES)
    {
      g_autofree char *size = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("A qcow2 disk of %s (%" G_GUINT64_FORMAT " bytes) is more than qcow2 can "
                     "hold: give at most 2 PiB (%" G_GUINT64_FORMAT " bytes)."),
                   size, bytes, TSR_RULES_QCOW2_MAX_BYTES);
      return FALSE;
    }
  if (g_str_equal (format, "raw") && pool_capacity > 0 && bytes > pool_capacity)
    {
      g_autofree char *size = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (pool_capacity, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("A raw disk of %s (%" G_GUINT64_FORMAT " bytes) can never fit in storage "
                     "pool “%s”, which holds %s (%" G_GUINT64_FORMAT " bytes) in all: give a "
                     "smaller disk, or another pool."),
                   size, bytes, pool, have, pool_capacity);
      return FALSE;
    }
  return TRUE;
}
