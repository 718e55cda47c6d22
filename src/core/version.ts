/** This Syncline's version (package.json's, checked by a test): workers of a cluster show it. */
export const SYNCLINE_VERSION = '0.1.0';
