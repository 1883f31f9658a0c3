import m from './koa.js';
export const { verifiedCallback, BodyConsumedError } = m;
export default m;
