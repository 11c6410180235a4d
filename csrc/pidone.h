/* pidone.h: what the two halves of the compiled `pidone` command (csrc/pidone.c, the
 * launcher; csrc/pidone-job.c, the job verbs' client) call in each other. */
#ifndef PIDONE_H
#define PIDONE_H

/* The job verbs and is-active/is-failed (pidone-job.c): `launcher` is the command's $0,
 * whose name picks the face (`systemctl` or `pidone`), args the arguments after it.
 * Returns the exit status, or hands the command line to launch_python() before it
 * connects (and then does not return). */
int job_main(const char *launcher, char **args, int n);

/* The Python half, as bin/pidone runs it (pidone.c): an exec; returns never. */
_Noreturn void launch_python(char **args, int n);

#endif
