/* placeholder: replaced by the BPF unit tests */
int main(void) { return 0; }
