/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key codes for the graphical console: the host's keys are sent to QEMU as
 * "qnum" XT scancodes (set 1, with the 0xe0 prefix folded into bit 7), the
 * form of the QEMU extended key event, so that the guest sees the physical
 * key whatever its own layout is.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The qnum scancode of the Linux evdev key code EVDEV, or 0 when QEMU has
 * none.
 */
guint16 tsr_keymap_evdev_to_qnum (guint evdev);

/* The evdev key code of a GDK hardware keycode: X11 and Wayland both number
 * their keycodes as evdev + 8.
 */
guint tsr_keymap_keycode_to_evdev (guint keycode);

/* The GDK hardware keycode of the evdev key code EVDEV. */
guint tsr_keymap_evdev_to_keycode (guint evdev);

G_END_DECLS
