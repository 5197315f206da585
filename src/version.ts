/** The software version shown by `pushbridge --version`, the setup page and OPTIONS logs. */
export const VERSION = "0.1.0";
