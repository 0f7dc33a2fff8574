/* placeholder: replaced by the seccomp helper */
int main(void) { return 0; }
