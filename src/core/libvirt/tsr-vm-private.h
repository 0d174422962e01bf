/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-vm.h"

G_BEGIN_DECLS

/* What a domain's XML says, parsed off the main thread. */
typedef struct
{
  char    *name;
  char    *uuid;
  char    *label;
  char    *klass;
  char    *template_name;
  char    *virt_mode;
  char    *kernel;
  char    *netvm;
  char    *mac;
  char    *domain_type;
  guint64  memory;   /* MiB */
  guint64  maxmem;   /* MiB, 0 = no balloon */
  guint    vcpus;
  guint    revision; /* see TsrVm:revision */
} TsrVmConfig;

TsrVmConfig *tsr_vm_config_parse       (const char        *xml,
                                        const char        *kernels_dir,
                                        GError           **error);
void         tsr_vm_config_free        (TsrVmConfig       *config);

TsrVm       *tsr_vm_new                (const char        *uuid);
void         tsr_vm_set_config         (TsrVm             *self,
                                        const TsrVmConfig *config);
void         tsr_vm_set_state          (TsrVm             *self,
                                        TsrVmState         state);
void         tsr_vm_set_address        (TsrVm             *self,
                                        const char        *ip,
                                        const char        *netmask,
                                        const char        *gateway);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrVmConfig, tsr_vm_config_free)

G_END_DECLS
