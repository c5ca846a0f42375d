#include "shim.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Only async-signal-safe calls below the handler: tcgetpgrp, getpgrp, tcsetattr, signal, raise, _exit. */
static struct termios saved_terminal;
static volatile sig_atomic_t terminal_changed = 0;
static volatile sig_atomic_t interrupted_exit_status = 8;

void extlib_net_terminal_will_change(const struct termios *saved) {
    saved_terminal = *saved;
    terminal_changed = 1;
}

void extlib_net_terminal_restored(void) {
    terminal_changed = 0;
}

/* Only what a prompt changed, and only in the foreground: a background job that wrote to the terminal
 * would be stopped by SIGTTOU instead of ending, and another program's settings are not ours to set. */
void extlib_net_restore_terminal(void) {
    if (terminal_changed && tcgetpgrp(0) == getpgrp()) {
        tcsetattr(0, TCSANOW, &saved_terminal);
        terminal_changed = 0;
    }
}

static void on_signal(int number) {
    extlib_net_restore_terminal();
    if (number == SIGINT) _exit(interrupted_exit_status);
    signal(number, SIG_DFL);
    raise(number);
}

/* The three are blocked while the handler runs, so it is never entered twice. */
void extlib_net_install_signal_handlers(int interrupted_status) {
    interrupted_exit_status = interrupted_status;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    sigaddset(&action.sa_mask, SIGHUP);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
}
