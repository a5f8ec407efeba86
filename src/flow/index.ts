export { Credit, creditOf, withCredit } from './credit.js';
