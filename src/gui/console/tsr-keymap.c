/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "tsr-keymap.h"

#include <linux/input-event-codes.h>

/* Written from the PC keyboard's scancode set 1 (the "XT" codes QEMU's
 * qnum keeps, E0-prefixed codes as 0x80 | code) and the evdev names: the
 * codes 1 to 83 are the same in both, by design of evdev.
 */
static const guint16 evdev_to_qnum[] = {
  [KEY_ZENKAKUHANKAKU] = 0x76,
  [KEY_102ND] = 0x56,
  [KEY_F11] = 0x57,
  [KEY_F12] = 0x58,
  [KEY_RO] = 0x73,
  [KEY_KATAKANA] = 0x78,
  [KEY_HIRAGANA] = 0x77,
  [KEY_HENKAN] = 0x79,
  [KEY_KATAKANAHIRAGANA] = 0x70,
  [KEY_MUHENKAN] = 0x7b,
  [KEY_KPJPCOMMA] = 0x5c,
  [KEY_KPENTER] = 0x9c,
  [KEY_RIGHTCTRL] = 0x9d,
  [KEY_KPSLASH] = 0xb5,
  [KEY_SYSRQ] = 0x54,
  [KEY_RIGHTALT] = 0xb8,
  [KEY_HOME] = 0xc7,
  [KEY_UP] = 0xc8,
  [KEY_PAGEUP] = 0xc9,
  [KEY_LEFT] = 0xcb,
  [KEY_RIGHT] = 0xcd,
  [KEY_END] = 0xcf,
  [KEY_DOWN] = 0xd0,
  [KEY_PAGEDOWN] = 0xd1,
  [KEY_INSERT] = 0xd2,
  [KEY_DELETE] = 0xd3,
  [KEY_MUTE] = 0xa0,
  [KEY_VOLUMEDOWN] = 0xae,
  [KEY_VOLUMEUP] = 0xb0,
  [KEY_POWER] = 0xde,
  [KEY_KPEQUAL] = 0x59,
  [KEY_PAUSE] = 0xc6,
  [KEY_KPCOMMA] = 0x7e,
  [KEY_HANGEUL] = 0xf2,
  [KEY_HANJA] = 0xf1,
  [KEY_YEN] = 0x7d,
  [KEY_LEFTMETA] = 0xdb,
  [KEY_RIGHTMETA] = 0xdc,
  [KEY_COMPOSE] = 0xdd,
  [KEY_STOP] = 0xe8,
  [KEY_CALC] = 0xa1,
  [KEY_SLEEP] = 0xdf,
  [KEY_WAKEUP] = 0xe3,
  [KEY_MAIL] = 0xec,
  [KEY_BOOKMARKS] = 0xe6,
  [KEY_COMPUTER] = 0xeb,
  [KEY_BACK] = 0xea,
  [KEY_FORWARD] = 0xe9,
  [KEY_NEXTSONG] = 0x99,
  [KEY_PLAYPAUSE] = 0xa2,
  [KEY_PREVIOUSSONG] = 0x90,
  [KEY_STOPCD] = 0xa4,
  [KEY_HOMEPAGE] = 0xb2,
  [KEY_REFRESH] = 0xe7,
  [KEY_SEARCH] = 0xe5,
  [KEY_F13] = 0x5d,
  [KEY_F14] = 0x5e,
  [KEY_F15] = 0x5f,
};

guint16
tsr_keymap_evdev_to_qnum (guint evdev)
{
  if (evdev >= KEY_ESC && evdev <= KEY_KPDOT)
    return evdev;
  if (evdev < G_N_ELEMENTS (evdev_to_qnum))
    return evdev_to_qnum[evdev];
  return 0;
}

guint
tsr_keymap_keycode_to_evdev (guint keycode)
{
  return keycode >= 8 ? keycode - 8 : 0;
}

guint
tsr_keymap_evdev_to_keycode (guint evdev)
{
  return evdev + 8;
}
