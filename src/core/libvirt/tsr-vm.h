/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define TSR_METADATA_NS     "https://tessera.invalid/xmlns/vm/1.0"
#define TSR_METADATA_PREFIX "tessera"
/* The OS as virt-manager and GNOME Boxes record it: <libosinfo:os id=URI/>. */
#define TSR_LIBOSINFO_NS    "http://libosinfo.org/xmlns/libvirt/domain/1.0"

/* The command line of a directly booted kernel when none is given. */
#define TSR_DEFAULT_KERNELOPTS "root=/dev/vda console=ttyS0"
/* The folder of kernels for direct boot (sub-folders with a vmlinuz);
 * TsrConnection:kernels-dir says which one a connection uses.
 */
#define TSR_DEFAULT_KERNELS_DIR "/var/lib/tessera/vm-kernels"

typedef enum
{
  TSR_VM_STATE_UNKNOWN,
  TSR_VM_STATE_RUNNING,
  TSR_VM_STATE_PAUSED,
  TSR_VM_STATE_SHUTTING_DOWN,
  TSR_VM_STATE_SHUTOFF,
  TSR_VM_STATE_CRASHED,
  TSR_VM_STATE_SUSPENDED,
} TsrVmState;

#define TSR_TYPE_VM (tsr_vm_get_type ())

G_DECLARE_FINAL_TYPE (TsrVm, tsr_vm, TSR, VM, GObject)

const char *tsr_vm_get_name       (TsrVm *self);
const char *tsr_vm_get_uuid       (TsrVm *self);
TsrVmState  tsr_vm_get_state      (TsrVm *self);
const char *tsr_vm_get_state_text (TsrVm *self);
gboolean    tsr_vm_is_active      (TsrVm *self);
const char *tsr_vm_get_label      (TsrVm *self);
const char *tsr_vm_get_vm_class   (TsrVm *self);
const char *tsr_vm_get_template   (TsrVm *self);
const char *tsr_vm_get_virt_mode  (TsrVm *self);
const char *tsr_vm_get_kernel     (TsrVm *self);
guint64     tsr_vm_get_memory     (TsrVm *self);
guint64     tsr_vm_get_maxmem     (TsrVm *self);
guint       tsr_vm_get_vcpus      (TsrVm *self);
guint       tsr_vm_get_revision   (TsrVm *self);
const char *tsr_vm_get_netvm      (TsrVm *self);
const char *tsr_vm_get_mac        (TsrVm *self);
const char *tsr_vm_get_ip         (TsrVm *self);
const char *tsr_vm_get_netmask    (TsrVm *self);
const char *tsr_vm_get_gateway    (TsrVm *self);
char       *tsr_vm_dup_field_text (TsrVm      *self,
                                   const char *field);
const char *tsr_vm_get_base_template (TsrVm *self);
gboolean    tsr_vm_is_outdated    (TsrVm      *self,
                                   TsrVm      *template_vm);

const char *tsr_vm_state_to_string (TsrVmState state);

extern const char * const tsr_vm_labels[];

G_END_DECLS
