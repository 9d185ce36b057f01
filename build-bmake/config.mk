# Written by configure.
CONF_CFLAGS =  -I/usr/include/x86_64-linux-gnu     
CONF_LIBS = -lpcre2-8  -lcurl  -ljansson  -linih  -lxxhash  
TEST_LIBS = -lcriterion 
MISSING_PKGS =
